#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# An NBD server that stops answering while a download is stopped (its
# descriptor deleted, its client gone) cannot hold the worker until
# backend_timeout: the worker gives the connection up about a second
# after the stop, and with the only worker free again the next request
# is answered within seconds.  The server is nbdkit's eval plugin whose
# reads from an offset on wait for a file the test creates at the end.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576

setup_file () {
  for t in nbdkit nbdinfo jq; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
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
  nbd_require nbdkit nbdinfo jq
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
  T=$BATS_TEST_TMPDIR
  CURL_PIDS=
}

teardown () {
  local pid
  for pid in $CURL_PIDS; do
    kill "$pid" 2>/dev/null || :
  done
  # Let the server's waiting reads end before it is stopped.
  touch "$STACK_DIR/release"
  nbd_stop_all
  rm -f "$STACK_DIR/release" "$STACK_DIR/stalled"
}

# stalled_kit NAME FROM: a 64 MiB export of zeroes whose reads at offset
# FROM or beyond create $STACK_DIR/stalled, then wait (at most 40 s) for
# $STACK_DIR/release; transfer NAME reads it.  Its preferred block size,
# 1 MiB, makes the worker's commands 1 MiB: 32 script runs for a chunk,
# not 512.
stalled_kit () {
  local name=$1 from=$2
  rm -f "$STACK_DIR/release" "$STACK_DIR/stalled"
  # shellcheck disable=SC2016 # $3, $4: the plugin's arguments
  nbd_kit "$name" eval \
    thread_model='echo parallel' \
    get_size="echo $((64 * MiB))" \
    block_size='echo 1 1M 32M' \
    pread='if [ "$4" -ge '"$from"' ]; then
             touch '"$STACK_DIR"'/stalled
             n=0
             while [ ! -e '"$STACK_DIR"'/release ] && [ $n -lt 400 ]; do
               sleep 0.1; n=$((n + 1))
             done
           fi
           dd if=/dev/zero count=$3 iflag=count_bytes status=none'
  transfer_json "$name" --arg s "$(nbd_sock "$name")" \
    '{socket: $s, ops: ["read"]}'
}

# Wait (at most 20 s) until the server sits on a read.
wait_stalled () {
  local n=200
  while [ ! -e "$STACK_DIR/stalled" ] && [ $n -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  [ -e "$STACK_DIR/stalled" ] || fail "no read reached the stalling offset"
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
  curl -sS --limit-rate 1K --max-time 60 -o /dev/null \
    "$BASE_URL/images/lost" 2>/dev/null &
  CURL_PIDS=$!
  wait_stalled
  kill "$CURL_PIDS"
  wait "$CURL_PIDS" 2>/dev/null || :
  CURL_PIDS=
  sleep 0.5
  expect_worker_free 5 "after the stop"
  grep -q 'GET lost: stopped after' "$FCGI_LOG" \
    || fail "the log does not say the download stopped"
  grep -q 'transfer lost: the NBD server did not answer .* of the abandon: connection closed' \
    "$FCGI_LOG" || fail "the log does not say the connection was given up"
}
