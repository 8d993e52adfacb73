#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The gateway (http backend): a client that leaves while the gateway
# waits on a remote that says nothing frees the gateway's worker within
# seconds (the http backend's progress callback looks at the FastCGI
# connection, backend_watch_client; lighttpd shuts it with
# tcp-fin-propagate), instead of holding it until the remote answers.
# The remote is an imagexfer host whose NBD server stalls
# (nbd-stalled-helpers.bash).

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load http-helpers
load nbd-stalled-helpers

setup_file () {
  stalled_tools || return 0   # each test skips, naming it
  gateway_start -- --workers 1
}

teardown_file () {
  gateway_stop
}

setup () {
  gateway_setup
  stalled_setup
}

teardown () {
  stalled_teardown
}

@test "gateway: a client gone while the remote stalls: the gateway's worker is free within seconds" {
  stalled_kit stalled 0 on_host
  gw_transfer g-stalled "$HOST_URL/images/stalled"
  # The read is its connection's second request (check_gone_one_chunk).
  stalled_client /dev/null "$BASE_URL/images/g-stalled" \
    -X OPTIONS "$BASE_URL/images/*" --next -sS --max-time 60 -o /dev/null \
    -r 0-1048575
  client_leaves
  grep -q 'GET g-stalled: stopped after 0 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
}
