# SPDX-License-Identifier: Apache-2.0
# Deployment: lighttpd and nginx snippets, an Apache example, the systemd
# units with their sysusers.d, tmpfiles.d and logrotate files, and the
# scripts that install, start and test the whole thing.
# Web server examples are installed under $(datadir)/imagexfer/; operators
# include the snippets from there (see docs/deploy.md).

# Files that name installed paths are made from FILE.in when building,
# with make's variables, so that they say what configure (or "make
# prefix=...") chose: --prefix=/usr gives /usr/bin/imagexfer-fcgi.
PATH_FILES =
CLEANFILES += $(PATH_FILES)
EXTRA_DIST += $(PATH_FILES:=.in)
subst_paths = sed \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@pkgdatadir[@]|$(datadir)/imagexfer|g' \
	-e 's|@docdir[@]|$(docdir)|g'
$(PATH_FILES): $(PATH_FILES:=.in) Makefile
	$(AM_V_GEN)$(MKDIR_P) `dirname $@` && \
	$(subst_paths) $(srcdir)/$@.in > $@-t && mv $@-t $@

imagexferlighttpddir = $(datadir)/imagexfer/lighttpd
dist_imagexferlighttpd_DATA = \
	deploy/lighttpd/imagexfer.conf \
	deploy/lighttpd/imagexfer-https.conf \
	deploy/lighttpd/imagexfer-admin.conf \
	$(NULL)
# lighttpd.conf: a whole server; 50-imagexfer.conf: Debian's
# conf-available file for lighty-enable-mod.
LIGHTTPD_PATH_FILES = \
	deploy/lighttpd/lighttpd.conf \
	deploy/lighttpd/50-imagexfer.conf \
	$(NULL)
imagexferlighttpd_DATA = $(LIGHTTPD_PATH_FILES)
PATH_FILES += $(LIGHTTPD_PATH_FILES)

imagexferapachedir = $(datadir)/imagexfer/apache
imagexferapache_DATA = deploy/apache/imagexfer.conf
PATH_FILES += deploy/apache/imagexfer.conf

# nginx: the snippets name each other by their installed paths.
imagexfernginxdir = $(datadir)/imagexfer/nginx
NGINX_CONFS = \
	deploy/nginx/imagexfer.conf \
	deploy/nginx/imagexfer-fastcgi.conf \
	deploy/nginx/imagexfer-https.conf \
	deploy/nginx/imagexfer-admin.conf \
	deploy/nginx/nginx.conf \
	$(NULL)
imagexfernginx_DATA = $(NGINX_CONFS)
PATH_FILES += $(NGINX_CONFS)

# systemd finds units, users and directories under $(prefix)/lib too
# (/usr/local/lib/systemd/system ...); configure --with-systemdsystemunitdir
# for another place.
systemdsystemunit_DATA = \
	deploy/systemd/imagexfer.service \
	deploy/systemd/imagexfer-cloudstack.service \
	$(NULL)
PATH_FILES += $(systemdsystemunit_DATA)
tmpfilesdir = $(prefix)/lib/tmpfiles.d
tmpfiles_DATA = deploy/tmpfiles.d/imagexfer.conf
sysusersdir = $(prefix)/lib/sysusers.d
sysusers_DATA = deploy/sysusers.d/imagexfer.conf
logrotatedir = $(sysconfdir)/logrotate.d
logrotate_DATA = deploy/logrotate.d/imagexfer
PATH_FILES += $(tmpfiles_DATA) $(sysusers_DATA) $(logrotate_DATA)

# The Debian package (a native one: debian/ is in the tarball).
EXTRA_DIST += \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/imagexfer.docs \
	debian/rules \
	debian/source/format \
	tests/package/build-deb \
	$(NULL)

EXTRA_DIST += \
	deploy/install-deps \
	deploy/quickstart \
	tests/run-all \
	tests/bench/run \
	tests/bench/nbd.bash \
	tests/bench/nginx.bash \
	tests/bench/small.bash \
	tests/bench/small-nginx.bash \
	tests/bench/gateway.bash \
	.ci/run \
	$(NULL)
