#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# An NBD server that stops answering while a download is stopped (its
# descriptor deleted, its client gone) cannot hold the worker until
# backend_timeout: the worker gives the connection up about a second
# after the stop, and with the only worker free again the next request
# is answered within seconds (nbd-stalled-helpers.bash: the server).
# A client that leaves while nothing flows is noticed through lighttpd's
# tcp-fin-propagate (backend_watch_client); nbd-stalled-nginx.bats runs
# the same behind nginx.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load nbd-stalled-helpers

setup_file () {
  stalled_tools || return 0
  # One worker: a request that holds it holds the service.  32 MiB
  # chunks: the first one outgrows every buffer between the worker and a
  # client that does not read, so the worker is still writing it when
  # the server stalls on the next one.  backend_timeout stays 60 s.
  stack_start --workers 1 --conf-extra "chunk_size = 32M"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  stalled_setup
}

teardown () {
  stalled_teardown
}

@test "a download cancelled while the NBD server stalls: 403 within seconds, the worker free" {
  stalled_kit cancel 0
  curl -sS -o "$T/body" -w '%{http_code}' --max-time 60 \
    "$BASE_URL/images/cancel" > "$T/code" 2>/dev/null &
  CURL_PIDS=$!
  wait_stalled
  transfer_rm cancel
  t0=$SECONDS
  wait "$CURL_PIDS" || :
  CURL_PIDS=
  (( SECONDS - t0 <= 5 )) || fail "the cancel took $((SECONDS - t0)) s"
  expect_eq "$(cat "$T/code")" 403 "status of the cancelled download"
  jq -e '.error | contains("transfer cancel was cancelled")' "$T/body" \
    >/dev/null || fail "error body: $(cat "$T/body")"
  expect_worker_free 5 "after the stop"
  grep -q 'transfer cancel: the NBD server did not answer .* of the cancel: connection closed' \
    "$FCGI_LOG" || fail "the log does not say the connection was given up"
}

@test "a client gone while the NBD server stalls: the worker is free within seconds" {
  stalled_kit lost $((32 * MiB))
  # A client reading 1 KiB/s: the worker is still writing the first
  # chunk when its backend thread reads the second, which stalls.
  stalled_client /dev/null "$BASE_URL/images/lost" --limit-rate 1K
  client_leaves
  grep -q 'GET lost: stopped after' "$FCGI_LOG" \
    || fail "the log does not say the download stopped"
  # The backend thread may notice the web server's closed connection
  # before the request's thread fails to write to it.
  grep -q -E 'transfer lost: the NBD server did not answer .* of the (abandon|client going away): connection closed' \
    "$FCGI_LOG" || fail "the log does not say the connection was given up"
}

@test "a client gone while the worker waits for a stalled chunk: the worker is free within seconds" {
  check_gone_waiting_for_chunk
}

@test "a client gone while a one-chunk read stalls (a kept connection's second request): the worker is free within seconds" {
  check_gone_one_chunk kept
}

@test "a client that stays while its NBD server is slow gets every byte" {
  check_slow_server_client_stays
}
