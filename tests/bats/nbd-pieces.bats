#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The NBD data path: a chunk goes to the server as 120 KiB commands, many
# in flight.  Unaligned ranges that start, end and cross inside a piece
# and across chunks are byte-exact through qemu-nbd and nbdkit, both
# ways; deleting the descriptor during a large PUT stops the commands
# the server sees within about a second (a GET: nbd-abandon.bats).

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

SIZE=12582912           # 12 MiB: three 4 MiB chunks of 35 pieces each
PIECE=122880            # NBD_PIECE, src/backend/backend-nbd.h

setup_file () {
  for t in qemu-nbd nbdkit nbdcopy nbdinfo jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  stack_start --workers 2
  truncate -s "$SIZE" "$IMAGES/raw.img"
  nbd_qemu qemu -f raw "$IMAGES/raw.img"
  nbd_kit kit memory "$SIZE"
  transfer_json qemu --arg s "$(nbd_sock qemu)" '{socket: $s}'
  transfer_json kit --arg s "$(nbd_sock kit)" '{socket: $s}'
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require qemu-nbd nbdkit nbdcopy nbdinfo jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

# Ranges as "first length": inside one piece, one byte either side of a
# piece boundary, a piece and one byte, across the first chunk boundary
# unaligned at both ends, all but the first and last byte, the last
# piece less one byte.
RANGES="
1 100
$((PIECE - 1)) 2
$((PIECE - 1)) $((PIECE + 2))
12345 4194304
4194303 4194306
1 $((SIZE - 2))
$((SIZE - PIECE + 1)) $((PIECE - 1))
"

@test "GET of unaligned ranges across pieces and chunks: 206, byte-exact, qemu-nbd and nbdkit" {
  for id in qemu kit; do
    image_random "$BATS_TEST_TMPDIR/$id.ref" "$SIZE"
    nbd_write_from "$BATS_TEST_TMPDIR/$id.ref" "$(nbd_uri "$id")"
    while read -r a len; do
      [ -n "$a" ] || continue
      http -H "Range: bytes=$a-$((a + len - 1))" "$BASE_URL/images/$id"
      expect_status 206 "$id $a+$len"
      expect_header Content-Length "$len"
      expect_header Content-Range "bytes $a-$((a + len - 1))/$SIZE"
      extract "$BATS_TEST_TMPDIR/$id.ref" "$a" "$len" > "$BATS_TEST_TMPDIR/want"
      expect_body_is "$BATS_TEST_TMPDIR/want"
    done <<< "$RANGES"
  done
}

@test "PUT of unaligned ranges across pieces and chunks: only those bytes change, qemu-nbd and nbdkit" {
  local ref back
  for id in qemu kit; do
    ref=$BATS_TEST_TMPDIR/$id.ref
    back=$BATS_TEST_TMPDIR/$id.back
    image_random "$ref" "$SIZE"
    nbd_write_from "$ref" "$(nbd_uri "$id")"
    while read -r a len; do
      [ -n "$a" ] || continue
      image_random "$BATS_TEST_TMPDIR/piece" "$len"
      http -T "$BATS_TEST_TMPDIR/piece" \
        -H "Content-Range: bytes $a-$((a + len - 1))/$SIZE" \
        "$BASE_URL/images/$id"
      expect_status 200 "$id $a+$len"
      expect_json --argjson n "$len" \
        '. == {"ok": true, "bytes_written": $n, "flushed": true}'
      write_at "$ref" "$a" "$BATS_TEST_TMPDIR/piece"
      nbd_read_back "$(nbd_uri "$id")" "$back"
      cmp "$ref" "$back" >&2 || fail "$id $a+$len: the export differs"
    done <<< "$RANGES"
  done
}

# expect_commands_stop LOG PID: after the descriptor is deleted (just
# before this is called), the client's request ends within 3 s and the
# server sees no new command from 1.5 s after the cancel on.  (An upload
# ends after the worker wrote what it had received: its last commands
# may come after the client is gone.)
expect_commands_stop () {
  local log=$1 cpid=$2 n1 n2 i
  for ((i = 0; i < 30; i++)); do
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$cpid" 2>/dev/null || fail "the request still runs 3 s after the cancel"
  (( i >= 15 )) || sleep "$(( (15 - i) / 10 )).$(( (15 - i) % 10 ))"
  n1=$(commands_seen "$log")
  sleep 1.5
  n2=$(commands_seen "$log")
  [ "$n1" = "$n2" ] || fail "commands after the cancel: $n1, then $n2"
}

@test "cancel during a large NBD PUT: the commands stop within about a second" {
  local log=$STACK_DIR/slow-put.cmdlog out=$BATS_TEST_TMPDIR/put cpid code
  truncate -s 1G "$BATS_TEST_TMPDIR/zeroes"
  nbd_kit slowput --filter=log --filter=rate memory 1G rate=256M \
    logfile="$log"
  transfer_json slowput --arg s "$(nbd_sock slowput)" '{socket: $s}'
  curl -sS --max-time 60 -o "$out" -w '%{http_code}\n' \
    -T "$BATS_TEST_TMPDIR/zeroes" "$BASE_URL/images/slowput" \
    > "$out.curl" 2> "$out.err" &
  cpid=$!
  sleep 1.5
  (( $(commands_seen "$log") > 0 )) || fail "no command reached the server"
  transfer_rm slowput
  expect_commands_stop "$log" "$cpid"
  wait "$cpid" || true
  code=$(cat "$out.curl")
  [ "$code" != 200 ] || fail "the cancelled upload answered 200"
  nbd_stop slowput
}
