# SPDX-License-Identifier: Apache-2.0
# The bats suites: real lighttpd + imagexfer-fcgi (+ NBD servers), curl.
# One line per suite; add yours, never rewrite the list.
BATS_SUITES = \
	tests/bats/ops-api.bats \
	tests/bats/ops-ctl.bats \
	tests/bats/deploy-https.bats \
	tests/bats/deploy-apache.bats \
	tests/bats/deploy-nginx.bats \
	tests/bats/images-options.bats \
	tests/bats/images-get.bats \
	tests/bats/images-put-filesystems.bats \
	tests/bats/images-put.bats \
	tests/bats/images-patch.bats \
	tests/bats/images-extents.bats \
	tests/bats/images-dialects.bats \
	tests/bats/images-lifecycle.bats \
	tests/bats/images-big.bats \
	tests/bats/images-sendfile.bats \
	tests/bats/images-roots.bats \
	tests/bats/faults-workers.bats \
	tests/bats/faults-stalled.bats \
	tests/bats/nbd-routes.bats \
	tests/bats/nbd-abandon.bats \
	tests/bats/nbd-pieces.bats \
	tests/bats/nbd-extents.bats \
	tests/bats/nbd-checksum.bats \
	tests/bats/nbd-faults.bats \
	tests/bats/nbd-reuse.bats \
	tests/bats/nbd-caps-sequential.bats \
	tests/bats/images-kept-file.bats \
	tests/bats/structure.bats \
	tests/bats/ops-cloudstack.bats \
	tests/bats/ops-ctl-progress.bats \
	tests/bats/ops-health.bats \
	tests/bats/admin-socket.bats \
	tests/bats/tickets.bats \
	tests/bats/docs-man.bats \
	tests/bats/images-body-records.bats \
	tests/bats/http-gateway.bats \
	tests/bats/http-faults.bats \
	tests/bats/http-static.bats \
	tests/bats/http-abandon.bats \
	tests/bats/deploy-systemd.bats \
	tests/bats/ops-logging.bats \
	tests/bats/load-faults.bats \
	tests/bats/faults-state.bats \
	tests/bats/faults-caps.bats \
	tests/bats/faults-supervisor.bats \
	tests/bats/lighttpd-streaming.bats \
	tests/bats/nbd-stalled.bats \
	tests/bats/nbd-stalled-nginx.bats \
	tests/bats/http-stalled.bats \
	tests/bats/fastcgi-socket.bats \
	tests/bats/nginx-keepalive.bats \
	$(NULL)
TESTS += $(BATS_SUITES)
EXTRA_DIST += $(BATS_SUITES) \
	tests/bats/ctl-helpers.bash \
	tests/bats/expect.bash \
	tests/bats/helpers.bash \
	tests/bats/nbd-helpers.bash \
	tests/bats/nbd-stalled-helpers.bash \
	tests/bats/send-in-pieces.py \
	tests/bats/fastcgi-request.py \
	tests/bats/http-helpers.bash \
	tests/bats/notify-probe.py \
	tests/bats/load-client.py \
	$(NULL)
