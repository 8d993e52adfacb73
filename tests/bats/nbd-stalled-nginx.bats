#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A client that leaves while its download waits on a silent NBD server,
# with nothing flowing: the worker is writing nothing, so only the web
# server closing the FastCGI connection tells it (backend_watch_client),
# and it stops within about a second instead of backend_timeout.  nginx
# closes that connection when its client closes; lighttpd 1.4 takes a
# client's close for a half-close (it cannot tell them apart) and keeps
# waiting for the answer, so behind lighttpd such a request still ends
# when the server answers or at backend_timeout (docs/design.md).

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load nbd-stalled-helpers

setup_file () {
  [ -x "$NGINX" ] && stalled_tools || return 0   # each test skips, naming it
  # One worker, 32 MiB chunks, backend_timeout 60 s: as nbd-stalled.bats.
  stack_start --front nginx --workers 1 --conf-extra "chunk_size = 32M"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  [ -x "$NGINX" ] || skip "nginx is not installed (Debian: nginx)"
  stalled_setup
}

teardown () {
  stalled_teardown
}

@test "nginx: a client gone while the worker waits for a stalled chunk: the worker is free within seconds" {
  stalled_kit waiting $((32 * MiB))
  # The client reads the first chunk (nginx may hold back its last
  # page): then the worker writes nothing, it waits for the second
  # chunk, which the server sits on.
  stalled_client "$T/body" "$BASE_URL/images/waiting"
  wait_bytes "$T/body" $((32 * MiB - 65536))
  client_leaves
  grep -q 'GET waiting: stopped after 33554432 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
  grep -q 'transfer waiting: the NBD server did not answer .* of the client going away: connection closed' \
    "$FCGI_LOG" || fail "the log does not say the connection was given up"
}

@test "nginx: a client gone while a one-chunk read stalls: the worker is free within seconds" {
  stalled_kit small 0
  # One chunk: the request's own thread reads it, no backend thread.
  stalled_client /dev/null "$BASE_URL/images/small" -r 0-1048575
  client_leaves
  grep -q 'GET small: stopped after 0 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
}
