#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A worker keeps a file transfer's image open between requests
# (backend_keep_seconds), and lets go of it whenever it may no longer be
# the right file: the image replaced under the same path, the descriptor
# changed, the transfer cancelled, the keep time over.  The worker's open
# files are read from /proc/<worker>/fd; every answer is checked byte for
# byte.

bats_require_minimum_version 1.5.0

load helpers
load expect

MiB=1048576

setup_file () {
  # One worker, so every request meets what the last one kept; a keep
  # time long enough for a few requests on a busy machine.
  stack_start --workers 1 --conf-extra "backend_keep_seconds = 8"
}

teardown_file () {
  stack_stop
}

setup () {
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
  T=$BATS_TEST_TMPDIR
  WORKER=$(fcgi_worker_pids)
  [ -n "$WORKER" ] || fail "no worker"
}

# open_fds PATH: the worker's fds on PATH (or on a file deleted from
# there), one "fd inode" line each.
open_fds () {
  local fd target
  for fd in /proc/"$WORKER"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    if [ "$target" = "$1" ] || [ "$target" = "$1 (deleted)" ]; then
      echo "${fd##*/} $(stat -L -c %i "$fd" 2>/dev/null)"
    fi
  done
}

# wait_closed PATH TENTHS: until the worker has no fd on PATH, at most
# TENTHS tenths of a second.
wait_closed () {
  local i
  for ((i = 0; i < $2; i++)); do
    [ -z "$(open_fds "$1")" ] && return 0
    sleep 0.1
  done
  fail "the worker still has $1 open after $(( $2 / 10 )) s: $(open_fds "$1")"
}

# read_block ID IMAGE FIRST: a 4 KiB ranged GET, checked against IMAGE.
read_block () {
  ranged_get "$1" "$2" "$3" "$(( $3 + 4095 ))"
}

@test "ranged GETs of a file transfer share one open image" {
  new_image share "$MiB"
  read_block share "$T/share.orig" 0
  local first
  first=$(open_fds "$IMAGES/share.raw")
  [ -n "$first" ] || fail "the image was not kept open after a GET"
  read_block share "$T/share.orig" 8192
  read_block share "$T/share.orig" $(( MiB - 4096 ))
  expect_eq "$(open_fds "$IMAGES/share.raw")" "$first" "fd after 3 GETs"
}

@test "an image replaced under the same path is opened again" {
  new_image swap "$MiB"
  read_block swap "$T/swap.orig" 0
  local old new
  old=$(open_fds "$IMAGES/swap.raw")
  [ -n "$old" ] || fail "the image was not kept open"
  # A new file renamed over the old one: the kept fd still reads the old.
  image_random "$T/swap.new" "$MiB"
  cp "$T/swap.new" "$IMAGES/.swap.tmp"
  mv -f "$IMAGES/.swap.tmp" "$IMAGES/swap.raw"
  read_block swap "$T/swap.new" 0
  new=$(open_fds "$IMAGES/swap.raw")
  expect_eq "$(echo "$new" | wc -l)" 1 "fds on the image path"
  expect_eq "${new#* }" "$(stat -c %i "$IMAGES/swap.raw")" "inode kept open"
}

@test "the same image grown in place: the kept fd reads the new end" {
  new_image grow "$MiB"
  read_block grow "$T/grow.orig" 0
  local kept
  kept=$(open_fds "$IMAGES/grow.raw")
  image_random "$T/grow.tail" "$MiB"
  cat "$T/grow.tail" >> "$IMAGES/grow.raw"
  cat "$T/grow.orig" "$T/grow.tail" > "$T/grow.now"
  read_block grow "$T/grow.now" $(( MiB + 4096 ))
  expect_eq "$(open_fds "$IMAGES/grow.raw")" "$kept" "fd after the image grew"
}

@test "a changed descriptor lets go of the image it named" {
  new_image first "$MiB"
  new_image second "$MiB"
  read_block first "$T/first.orig" 4096
  [ -n "$(open_fds "$IMAGES/first.raw")" ] || fail "the image was not kept open"
  # The same transfer id, now naming the other image.
  file_transfer first "$IMAGES/second.raw"
  read_block first "$T/second.orig" 4096
  expect_eq "$(open_fds "$IMAGES/first.raw")" "" "fds on the image no longer named"
  [ -n "$(open_fds "$IMAGES/second.raw")" ] || fail "the new image was not kept open"
}

@test "a cancelled transfer's image is closed within about a second, without a request" {
  new_image gone "$MiB"
  read_block gone "$T/gone.orig" 0
  [ -n "$(open_fds "$IMAGES/gone.raw")" ] || fail "the image was not kept open"
  transfer_rm gone
  wait_closed "$IMAGES/gone.raw" 40
  http "$BASE_URL/images/gone"
  expect_error 403
}

@test "an idle image is closed after backend_keep_seconds" {
  new_image idle "$MiB"
  read_block idle "$T/idle.orig" 0
  [ -n "$(open_fds "$IMAGES/idle.raw")" ] || fail "the image was not kept open"
  local t0 t1
  t0=$(date +%s%N)
  wait_closed "$IMAGES/idle.raw" 150
  t1=$(date +%s%N)
  (( (t1 - t0) / 1000000 >= 7000 )) ||
    fail "closed $(( (t1 - t0) / 1000000 )) ms after the GET, before the keep time"
}

@test "a failed request does not keep the image" {
  new_image bad "$MiB"
  read_block bad "$T/bad.orig" 0
  http -H "Range: bytes=$(( 2 * MiB ))-$(( 2 * MiB + 10 ))" "$BASE_URL/images/bad"
  expect_status 416
  expect_eq "$(open_fds "$IMAGES/bad.raw")" "" "fds after a 416"
  read_block bad "$T/bad.orig" 4096
}
