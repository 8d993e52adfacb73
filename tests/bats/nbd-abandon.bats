#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A GET that ends early (here: cancelled) while the worker's read ahead
# is in the middle of a chunk abandons the read: once the response has
# ended, the server receives at most the commands already sent (up to
# 16 in flight; 4 more for the moment between the end of the response
# and the abandon), not the rest of the chunk, and none after those.
# 16 MiB chunks (137 commands of 120 KiB) leave a read that went on
# without the abandon no way to pass: it sent 64-75 commands after the
# response on this server.  A long PATCH zero, one backend call over
# its whole range, stops at the next zero command after a cancel.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

setup_file () {
  for t in nbdkit jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  stack_start --workers 2 --conf-extra "chunk_size = 16M"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require nbdkit jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

IN_FLIGHT=16

@test "cancel during a large NBD GET: the commands stop with the response, at most those in flight after it" {
  local log=$STACK_DIR/slow-get.cmdlog out=$BATS_TEST_TMPDIR/get cpid rc=0
  local cancelled ended at_end settled later i
  # 1 GiB at 8 MiB/s, a chunk in 2 s: the server, not the worker or
  # lighttpd, is what the read ahead waits for, even on a busy machine.
  nbd_kit slowget --filter=log --filter=rate pattern 1G rate=64M \
    logfile="$log"
  transfer_json slowget --arg s "$(nbd_sock slowget)" '{socket: $s, ops: ["read"]}'
  curl -sS --max-time 60 -o "$out" -w '%{http_code} %{size_download}\n' \
    "$BASE_URL/images/slowget" > "$out.curl" 2> "$out.err" &
  cpid=$!
  # Well into the read: past the first chunk (137 commands), whose
  # commands went out before the response began.
  for ((i = 0; i < 100; i++)); do
    (( $(commands_seen "$log") > 160 )) && break
    sleep 0.1
  done
  (( $(commands_seen "$log") > 160 )) || fail "no read reached the server in 10 s"
  transfer_rm slowget
  cancelled=$(now_ms)
  wait "$cpid" || rc=$?
  at_end=$(commands_seen "$log")
  ended=$(now_ms)
  (( ended - cancelled <= 3000 )) \
    || fail "the request ended $((ended - cancelled)) ms after the cancel"
  (( rc != 0 )) || fail "curl succeeded: $(cat "$out.curl")"
  (( $(stat -c %s "$out") < 1073741824 )) || fail "the whole image arrived"
  # The commands in flight take 1/8 s at this rate.
  sleep 1
  settled=$(commands_seen "$log")
  echo "# commands: $at_end when the response ended, $settled after" >&3
  (( settled - at_end <= IN_FLIGHT + 4 )) \
    || fail "$((settled - at_end)) commands after the response ended ($at_end, then $settled): the read ahead went on"
  sleep 1
  later=$(commands_seen "$log")
  [ "$later" = "$settled" ] || fail "commands still come: $settled, then $later"
  nbd_stop slowget
}

@test "cancel during a long PATCH zero: it stops within a second or two, not after the whole range" {
  local out=$BATS_TEST_TMPDIR/zero cpid cancelled ended
  # 4 GiB in 128 zero commands of 32 MiB, 150 ms each: 19 s in all, and
  # no command silent long enough (200 ms) for the NBD wait to look at
  # the descriptor itself.
  nbd_kit slowzero --filter=delay memory 4G delay-zero=150ms
  transfer_json slowzero --arg s "$(nbd_sock slowzero)" '{socket: $s}'
  curl -sS --max-time 60 -o "$out" -w '%{http_code}\n' -X PATCH \
    -H 'Content-Type: application/json' \
    --data '{"op": "zero", "offset": 0, "size": 4294967296}' \
    "$BASE_URL/images/slowzero" > "$out.code" 2> "$out.err" &
  cpid=$!
  sleep 1
  transfer_rm slowzero
  cancelled=$(now_ms)
  wait "$cpid" || fail "curl: $(cat "$out.err")"
  ended=$(now_ms)
  (( ended - cancelled <= 2000 )) \
    || fail "the zero ended $((ended - cancelled)) ms after the cancel"
  expect_eq "$(cat "$out.code")" 403 "status of the cancelled zero"
  grep -q "was cancelled" "$out" || fail "body: $(cat "$out")"
  nbd_stop slowzero
}
