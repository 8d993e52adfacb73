# The bats suites: real lighttpd + imagexfer-fcgi (+ NBD servers), curl.
# One line per suite; add yours, never rewrite the list.
BATS_SUITES = \
	tests/bats/deploy-https.bats \
	tests/bats/deploy-apache.bats \
	$(NULL)
TESTS += $(BATS_SUITES)
EXTRA_DIST += $(BATS_SUITES) \
	tests/bats/helpers.bash \
	$(NULL)
