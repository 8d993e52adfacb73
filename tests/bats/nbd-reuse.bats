#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A worker keeps its NBD connection between requests of one transfer
# (backend_keep_seconds): one handshake for many small requests, and a
# new connection whenever the old one may not be right any more.  nbdkit's
# log filter counts the connections the server saw.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576

setup_file () {
  for t in nbdkit nbdcopy nbdinfo jq; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  # One worker, so every request meets the connection the last one kept.
  stack_start --workers 1 --conf-extra "backend_keep_seconds = 2"
  image_random "$STACK_DIR/source.raw" "$MiB"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require nbdkit nbdcopy nbdinfo jq
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
  T=$BATS_TEST_TMPDIR
}

# start_kit NAME [--filter=F...] [-- FILTER-PARAMS...]: a 1 MiB memory
# export whose connections nbdkit logs to $STACK_DIR/NAME-conn.log, with
# transfer NAME on it holding source.raw.
start_kit () {
  local name=$1 filters=() params=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do filters+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  params=("$@")
  rm -f "$STACK_DIR/$name-conn.log"
  nbd_kit "$name" --filter=log "${filters[@]}" memory "$MiB" \
    "logfile=$STACK_DIR/$name-conn.log" "${params[@]}"
  nbdcopy "$STACK_DIR/source.raw" "$(nbd_uri "$name")"
  transfer_json "$name" --arg s "$(nbd_sock "$name")" '{socket: $s}'
}

# Connections (or disconnections) the server logged so far.
connects () { grep -c ' Connect ' "$STACK_DIR/$1-conn.log"; }
disconnects () { grep -c ' Disconnect ' "$STACK_DIR/$1-conn.log"; }

# ranged_reads NAME N: N 4 KiB ranged GETs, each checked byte for byte.
ranged_reads () {
  local i first
  for ((i = 0; i < $2; i++)); do
    first=$(( i * 65536 ))
    ranged_get "$1" "$STACK_DIR/source.raw" "$first" "$(( first + 4095 ))"
  done
}

@test "ranged GETs of one transfer share one NBD connection" {
  start_kit share
  local before
  before=$(connects share)
  ranged_reads share 5
  expect_eq "$(( $(connects share) - before ))" 1 "connections for 5 GETs"
}

@test "a replaced descriptor, or another access, gets a new connection" {
  start_kit replace
  local before
  before=$(connects replace)
  ranged_reads replace 2
  expect_eq "$(( $(connects replace) - before ))" 1 "connections, first descriptor"
  transfer_json replace --arg s "$(nbd_sock replace)" \
    '{socket: $s, transfer_id: "version 2"}'
  ranged_reads replace 2
  expect_eq "$(( $(connects replace) - before ))" 2 "connections, replaced descriptor"
  head -c 4096 /dev/urandom > "$T/block"
  http -X PUT -H 'Content-Range: bytes 0-4095/*' --data-binary "@$T/block" \
    "$BASE_URL/images/replace"
  expect_written 4096
  expect_eq "$(( $(connects replace) - before ))" 3 "connections, a write after reads"
}

@test "an idle kept connection is closed after backend_keep_seconds" {
  start_kit idle
  ranged_reads idle 1
  (( $(disconnects idle) < $(connects idle) )) || fail "nothing was kept"
  local n=50
  while (( $(disconnects idle) < $(connects idle) && n > 0 )); do
    sleep 0.1
    n=$((n - 1))
  done
  expect_eq "$(disconnects idle)" "$(connects idle)" "disconnections after 2 s idle"
}

@test "a restarted NBD server: the next request works on a new connection" {
  start_kit restart
  ranged_reads restart 1
  nbd_stop restart
  start_kit restart
  ranged_reads restart 2
}

@test "a deleted descriptor: 403, and the kept connection is closed" {
  start_kit gone
  ranged_reads gone 1
  transfer_rm gone
  http "$BASE_URL/images/gone"
  expect_error 403
  expect_eq "$(disconnects gone)" "$(connects gone)" "connections left open"
}

@test "a server that takes one client at a time: a connection per request" {
  # Without NBD multi-conn (qemu-nbd's default --shared=1) a kept
  # connection would keep every other worker waiting.
  start_kit single --filter=multi-conn -- multi-conn-mode=disable
  local before
  before=$(connects single)
  ranged_reads single 3
  expect_eq "$(( $(connects single) - before ))" 3 "connections for 3 GETs"
}
