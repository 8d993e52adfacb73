#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Per-transfer caps (config max_readers / max_writers, reported by
# OPTIONS): clients holding requests on one transfer, stalled uploads
# here, cannot take every worker.  One request too many is answered 503
# with Retry-After at once, another transfer is served meanwhile, and a
# place held by a worker that gets killed is given back.

bats_require_minimum_version 1.5.0

load helpers
load expect

# 3 workers: the caps default to 2 readers, 2 writers, 2 together.
setup_file () {
  stack_start --workers 3 --conf-extra "client_timeout = 60"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
  STALLED=()
}

teardown () {
  local p
  for p in "${STALLED[@]}"; do
    kill "$p" 2>/dev/null || :
    wait "$p" 2>/dev/null || :
  done
}

# stall_upload ID: a PUT announcing 8 MiB that sends 1 MiB and stops.
stall_upload () {
  { head -c 1048576 /dev/urandom; sleep 40; } |
    curl -sS -o /dev/null --max-time 60 -T - \
      -H 'Content-Length: 8388608' -H 'Transfer-Encoding:' \
      "$BASE_URL/images/$1" 2>/dev/null 3>&- &
  STALLED+=($!)
}

# expect_busy ID CURL-ARGS...: that request on transfer ID is refused at
# once with 503, Retry-After: 1 and a JSON error naming the cap.
expect_busy () {
  local id=$1 t0=$SECONDS
  shift
  http --max-time 10 "$@" "$BASE_URL/images/$id"
  expect_error 503
  expect_header Retry-After 1
  expect_json '.error | test("too many requests in flight \\(max_(readers|writers) 2\\)")'
  (( SECONDS - t0 <= 3 )) || fail "the refusal took $((SECONDS - t0)) s"
}

wait_in_flight () {   # ID N: N requests of transfer ID in flight
  wait_api v1/metrics/inflight \
    "[.requests[] | select(.transfer_id == \"$1\")] | length == $2"
}

@test "OPTIONS reports the caps in force: one less than the workers" {
  http -X OPTIONS "$BASE_URL/images/*"
  expect_status 200
  expect_json '.max_readers == 2 and .max_writers == 2'
  new_image ro 65536 '{"ops": ["read"]}'
  http -X OPTIONS "$BASE_URL/images/ro"
  expect_json '.max_readers == 2 and .max_writers == 0'
}

@test "two stalled uploads on a transfer: more on it are 503, another transfer is served" {
  new_image held 8388608
  new_image other 1048576
  stall_upload held
  stall_upload held
  wait_in_flight held 2
  expect_busy held -T "$T/held.orig"
  expect_busy held -r 0-9
  # The third worker is free for another transfer, byte for byte.
  http --max-time 10 "$BASE_URL/images/other"
  expect_status 200
  expect_body_is "$T/other.orig"
  # Once the stalled clients are gone, the transfer takes requests again.
  kill "${STALLED[@]}"
  wait_in_flight held 0
  head -c 4096 /dev/urandom > "$T/piece"
  http -T "$T/piece" -H 'Content-Range: bytes 0-4095/*' "$BASE_URL/images/held"
  expect_written 4096
  cmp "$T/piece" <(head -c 4096 "$IMAGES/held.raw") || fail "the piece was not written"
}

@test "a worker killed while it holds a place under the cap gives the place back" {
  new_image crash 8388608
  stall_upload crash
  stall_upload crash
  wait_in_flight crash 2
  local wpid
  wpid=$(jq '[.requests[] | select(.transfer_id == "crash")][0].pid' "$STACK_DIR/body")
  expect_busy crash -r 0-9
  kill -9 "$wpid"
  wait_in_flight crash 1
  http --max-time 10 -r 0-9 "$BASE_URL/images/crash"
  expect_status 206
  expect_body_is <(head -c 10 "$T/crash.orig")
}
