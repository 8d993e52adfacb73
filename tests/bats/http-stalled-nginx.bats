#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The gateway (http backend) behind nginx: a client that leaves while
# the gateway waits on a remote that says nothing frees the gateway's
# worker within seconds (the http backend's progress callback looks at
# the FastCGI connection, backend_watch_client), instead of holding it
# until the remote answers.  The remote is an imagexfer host whose NBD
# server stalls (nbd-stalled-helpers.bash).  nginx, because lighttpd
# does not close the FastCGI connection when a client closes while
# nothing flows (nbd-stalled-nginx.bats).

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load http-helpers
load nbd-stalled-helpers

setup_file () {
  [ -x "$NGINX" ] && stalled_tools || return 0   # each test skips, naming it
  gateway_start -- --front nginx --workers 1
}

teardown_file () {
  gateway_stop
}

setup () {
  [ -x "$NGINX" ] || skip "nginx is not installed (Debian: nginx)"
  gateway_setup
  stalled_setup
}

teardown () {
  stalled_teardown
}

@test "nginx gateway: a client gone while the remote stalls: the gateway's worker is free within seconds" {
  stalled_kit stalled 0 on_host
  gw_transfer g-stalled "$HOST_URL/images/stalled"
  stalled_client /dev/null "$BASE_URL/images/g-stalled" -r 0-1048575
  client_leaves
  grep -q 'GET g-stalled: stopped after 0 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
}
