# SPDX-License-Identifier: Apache-2.0
# docs/: the user documentation, installed under $(docdir), and the man
# pages.  The pages are written in POD (as nbdkit's are) and made with
# pod2man in the build directory: the tarball ships the .pod only.
dist_doc_DATA = \
	docs/api.md \
	docs/transfers.md \
	docs/configuration.md \
	docs/deploy.md \
	docs/design.md \
	docs/benchmark.md \
	docs/control-planes.md \
	docs/gateway.md \
	$(NULL)

EXTRA_DIST += \
	docs/imagexfer-fcgi.8.pod \
	docs/imagexferctl.8.pod \
	docs/imagexfer.conf.5.pod \
	docs/imagexfer-transfer.5.pod \
	$(NULL)

if HAVE_POD2MAN
nodist_man_MANS = \
	docs/imagexfer-fcgi.8 \
	docs/imagexferctl.8 \
	docs/imagexfer.conf.5 \
	docs/imagexfer-transfer.5 \
	$(NULL)
CLEANFILES += $(nodist_man_MANS)

docs/imagexfer-fcgi.8: docs/imagexfer-fcgi.8.pod
docs/imagexferctl.8: docs/imagexferctl.8.pod
docs/imagexfer.conf.5: docs/imagexfer.conf.5.pod
docs/imagexfer-transfer.5: docs/imagexfer-transfer.5.pod

# PAGE.SECTION from PAGE.SECTION.pod, with the configured paths in place
# of SYSCONFDIR, DATADIR, DOCDIR, LOCALSTATEDIR and RUNSTATEDIR; a POD error fails the build rather
# than ending up as a "POD ERRORS" section in the page.
$(nodist_man_MANS): Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && \
	page=`basename $@` && \
	sed -e 's|SYSCONFDIR|$(sysconfdir)|g' -e 's|DATADIR|$(datadir)|g' \
	  -e 's|DOCDIR|$(docdir)|g' -e 's|LOCALSTATEDIR|$(localstatedir)|g' \
	  -e 's|RUNSTATEDIR|$(runstatedir)|g' $(srcdir)/$@.pod > $@.pod-t && \
	$(POD2MAN) --errors=die --section="$${page##*.}" \
	  --name="$${page%.*}" --center=imagexfer \
	  --release="imagexfer $(PACKAGE_VERSION)" $@.pod-t > $@-t && \
	rm -f $@.pod-t && mv $@-t $@
endif

# What tests/bats/docs-man.bats needs to know of the build.
AM_TESTS_ENVIRONMENT += \
	POD2MAN='$(POD2MAN)'; export POD2MAN; \
	PODCHECKER='$(PODCHECKER)'; export PODCHECKER; \
	$(NULL)
