#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The per-transfer caps count requests in flight: a client that sends
# its requests one after another is never refused (503), even with
# max_readers and max_writers 1.  The web server hands the client a
# complete answer (all of Content-Length) before the worker has ended
# its request: the worker still closes the backend, and an NBD
# connection that is not kept waits for the server to hang up after
# NBD_CMD_DISC.  nbdkit's delay filter makes that wait long
# (delay-close), and the multi-conn filter makes every request close
# its connection; the client's next request then meets the other
# worker while the first one still closes.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576
ROUNDS=6

setup_file () {
  command -v nbdkit >/dev/null || return 0   # each test skips, naming it
  stack_start --workers 2 --conf-extra "max_readers = 1" \
    --conf-extra "max_writers = 1"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require nbdkit nbdcopy jq
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
  nbd_kit slow --filter=multi-conn --filter=delay memory "$MiB" \
    multi-conn-mode=disable delay-close=300ms
  transfer_json slow --arg s "$(nbd_sock slow)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/data" 65536
}

teardown () {
  nbd_stop_all
}

@test "OPTIONS: the caps are 1" {
  http -X OPTIONS "$BASE_URL/images/slow"
  expect_status 200
  expect_json '.max_readers == 1 and .max_writers == 1'
}

# Each request starts when the previous one's answer is complete; none
# may find the previous one's place still taken.
@test "requests one after another, each closing its NBD connection slowly: none is 503" {
  local i
  for i in $(seq "$ROUNDS"); do
    http -T "$BATS_TEST_TMPDIR/data" \
      -H "Content-Range: bytes $((i * 65536))-$((i * 65536 + 65535))/*" \
      "$BASE_URL/images/slow"
    expect_status 200 "PUT $i"
    http -H "Range: bytes=$((i * 65536))-$((i * 65536 + 65535))" \
      "$BASE_URL/images/slow"
    expect_status 206 "GET $i"
    expect_body_is "$BATS_TEST_TMPDIR/data"
    http -I "$BASE_URL/images/slow"
    expect_status 200 "HEAD $i"
    http "$BASE_URL/images/slow/extents"
    expect_status 200 "extents $i"
    http "$BASE_URL/images/slow/extents?context=bogus"
    expect_error 400 "extents with a bad context $i"
  done
}

# A server that takes long to hang up after NBD_CMD_DISC (delay-close
# 4 s, below backend_timeout): the worker waits for it at most a second,
# then serves the next request.  (Longer would outlast the readiness
# probe's own goodbye.)
@test "a server slow to hang up holds the worker a second at most after the answer" {
  local start elapsed i
  nbd_kit slowbye --filter=multi-conn --filter=delay memory "$MiB" \
    multi-conn-mode=disable delay-close=4
  transfer_json slowbye --arg s "$(nbd_sock slowbye)" '{socket: $s}'
  start=$(now_ms)
  # Six requests on two workers: each worker closes three times (8 s
  # when each goodbye waits for the server, 2 s at a second each).
  for i in 1 2 3 4 5 6; do
    http -H "Range: bytes=0-4095" "$BASE_URL/images/slowbye"
    expect_status 206 "GET $i"
  done
  elapsed=$(( $(now_ms) - start ))
  echo "# six GETs in $elapsed ms" >&3
  (( elapsed < 5000 )) || fail "six GETs took $elapsed ms: the goodbye held a worker"
}
