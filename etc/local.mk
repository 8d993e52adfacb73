# SPDX-License-Identifier: Apache-2.0
# The default configuration file and example transfer descriptors
# (dist_ puts them in the tarball too).
imagexferconfdir = $(sysconfdir)/imagexfer
dist_imagexferconf_DATA = etc/imagexfer.conf

examplesdir = $(docdir)/examples
dist_examples_DATA = \
	etc/examples/canonical-file.json \
	etc/examples/canonical-nbd.json \
	etc/examples/cloudstack-nbd.json \
	etc/examples/imageio-nbd.json \
	etc/examples/gateway-http.json \
	$(NULL)
