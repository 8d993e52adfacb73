# SPDX-License-Identifier: Apache-2.0
# Deployment: lighttpd and nginx snippets, an Apache example, the systemd unit,
# and the scripts that install, start and test the whole thing.
# Installed as examples under $(datadir)/imagexfer/; operators include the
# lighttpd snippets from there (see docs/deploy.md).
imagexferlighttpddir = $(datadir)/imagexfer/lighttpd
dist_imagexferlighttpd_DATA = \
	deploy/lighttpd/imagexfer.conf \
	deploy/lighttpd/imagexfer-https.conf \
	deploy/lighttpd/imagexfer-admin.conf \
	deploy/lighttpd/lighttpd.conf \
	$(NULL)

imagexferapachedir = $(datadir)/imagexfer/apache
dist_imagexferapache_DATA = deploy/apache/imagexfer.conf

# nginx: the snippets name each other by their installed paths, so they
# are made at build time from deploy/nginx/*.conf.in.
imagexfernginxdir = $(datadir)/imagexfer/nginx
NGINX_CONFS = \
	deploy/nginx/imagexfer.conf \
	deploy/nginx/imagexfer-fastcgi.conf \
	deploy/nginx/imagexfer-https.conf \
	deploy/nginx/imagexfer-admin.conf \
	deploy/nginx/nginx.conf \
	$(NULL)
imagexfernginx_DATA = $(NGINX_CONFS)
CLEANFILES += $(NGINX_CONFS)
EXTRA_DIST += $(NGINX_CONFS:=.in)
$(NGINX_CONFS): $(NGINX_CONFS:=.in) Makefile
	$(AM_V_GEN)$(MKDIR_P) deploy/nginx && \
	sed -e 's|@pkgdatadir[@]|$(datadir)/imagexfer|g' $(srcdir)/$@.in > $@-t \
	  && mv $@-t $@

# The unit names the installed binary, so it is made at build time.
imagexfersystemddir = $(datadir)/imagexfer/systemd
imagexfersystemd_DATA = deploy/imagexfer.service
dist_imagexfersystemd_DATA = deploy/imagexfer.tmpfiles
CLEANFILES += deploy/imagexfer.service
deploy/imagexfer.service: deploy/imagexfer.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) deploy && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	  $(srcdir)/deploy/imagexfer.service.in > $@-t && mv $@-t $@

EXTRA_DIST += \
	deploy/imagexfer.service.in \
	deploy/install-deps \
	deploy/quickstart \
	tests/run-all \
	tests/bench/run \
	tests/bench/nbd.bash \
	tests/bench/nginx.bash \
	tests/bench/small.bash \
	tests/bench/gateway.bash \
	.ci/run \
	$(NULL)
