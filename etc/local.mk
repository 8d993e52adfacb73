# SPDX-License-Identifier: Apache-2.0
# The default configuration file (made from etc/imagexfer.conf.in: it
# shows the configured default paths) and example transfer descriptors
# (dist_ puts them in the tarball too).
imagexferconfdir = $(sysconfdir)/imagexfer
imagexferconf_DATA = etc/imagexfer.conf
PATH_FILES += etc/imagexfer.conf

examplesdir = $(docdir)/examples
dist_examples_DATA = \
	etc/examples/canonical-file.json \
	etc/examples/canonical-nbd.json \
	etc/examples/cloudstack-nbd.json \
	etc/examples/imageio-nbd.json \
	etc/examples/gateway-http.json \
	$(NULL)
