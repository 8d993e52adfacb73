#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# sendfile = yes: file downloads handed to lighttpd with X-Sendfile2, and
# the bound on what a cancelled transfer can still send: ranges over
# sendfile_max are streamed by the worker, which stops them.  With
# max_readers 1, a client sending one GET after another is never
# refused, whether its range is handed off or streamed.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 2 --conf-extra "sendfile = yes" \
    --conf-extra "sendfile_max = 1M" --conf-extra "max_readers = 1"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

# The bytes the worker itself sent for the last request of ID (with
# that Range header): 0 when the web server sent the file (the access
# line's out=).
worker_sent () {   # ID [RANGE]
  grep -F " info: GET $1 range=${2:+$2 in=}" "$FCGI_LOG" | tail -n 1 \
    | sed -n 's/.* out=\([0-9]*\) .*/\1/p'
}

@test "sendfile: a range up to sendfile_max is sent by the web server, byte-exact" {
  new_image sf 3145733
  ranged_get sf "$T/sf.orig" 1000 1049575
  expect_eq "$(worker_sent sf)" 0 "bytes the worker sent"
  ranged_get sf "$T/sf.orig" 3145000 3145732
  expect_eq "$(worker_sent sf)" 0 "bytes the worker sent"
}

# A streamed answer's access line is written after its last byte, when
# the client may already have it all: wait (up to 5 s) for the line of
# this request.
worker_sent_streamed () {   # ID RANGE ("-": none)
  local n
  for ((n = 0; n < 50; n++)); do
    grep -qF " info: GET $1 range=$2 in=" "$FCGI_LOG" && break
    sleep 0.1
  done
  worker_sent "$1" "$2"
}

@test "sendfile: a larger range, or the whole image, is streamed by the worker" {
  new_image big 3145733 '{"filename": "big.raw"}'
  ranged_get big "$T/big.orig" 0 1048576
  expect_eq "$(worker_sent_streamed big bytes=0-1048576)" 1048577 \
    "bytes the worker sent"
  http "$BASE_URL/images/big"
  expect_status 200
  expect_header Content-Length 3145733
  expect_disposition big.raw
  expect_body_is "$T/big.orig"
  expect_eq "$(worker_sent_streamed big -)" 3145733 "bytes the worker sent"
}

@test "sendfile: deleting the descriptor stops a download larger than sendfile_max" {
  expect_download_cancelled long
}

# GETs of image ID, each sent (by a new curl, on a new connection) as
# soon as the answer before it is complete: a range lighttpd sends
# (X-Sendfile2, the worker sends only the head), one the worker streams,
# the whole image (streamed too).  Exact statuses, headers and bytes.
# The worker logs a hand-off before it writes the head, so its access
# line is there when the client has the answer (a streamed answer's line
# may come later, after the next request's).  Each test has its own
# image: lighttpd keeps a file it sent open for a while, and would send
# an image replaced under the same path from the old file.
sequential_gets () {   # ID ROUNDS
  local id=$1 i first size
  new_image "$id" 2097157
  size=$(stat -c %s "$T/$id.orig")
  for ((i = 0; i < $2; i++)); do
    first=$((i * 4099))
    ranged_get "$id" "$T/$id.orig" "$first" $((first + 65535))
    expect_eq "$(worker_sent "$id" "bytes=$first-$((first + 65535))")" 0 \
      "bytes the worker sent, round $i"
    ranged_get "$id" "$T/$id.orig" "$first" $((first + 1048576))
    http "$BASE_URL/images/$id"
    expect_status 200 "whole image, round $i"
    expect_header Content-Length "$size"
    expect_body_is "$T/$id.orig"
  done
}

# The web server hands the client a complete answer before the worker
# has ended the request; the client's next request then meets the other
# worker and must not find the place under max_readers 1 still taken
# (503).  The place goes back just before the write that completes the
# answer; an X-Sendfile2 head is written after the request has ended.
# Here the worker ends its request microseconds after its last write:
# this checks that every kind of GET gives its place back, the next
# test that it does so before the answer is complete.
@test "sendfile: GETs one after another with max_readers 1 are never refused" {
  sequential_gets seq 10
}

# Workers of this stack that strace (PID) traces.
workers_traced_by () {   # PID
  local p n=0
  for p in $(fcgi_worker_pids); do
    if [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$p/status")" = "$1" ]; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

# strace holds each worker for 0.5 s after every writev returns: the
# answer is out, the request not ended.  The client's next request
# arrives meanwhile (curl ends, the next starts and connects within
# 10-100 ms), so a place given back only when the request ends is found
# taken (every run failed so).  A machine so loaded that the next request
# takes over 0.5 s to arrive can only let the test pass, not fail.
@test "sendfile: GETs one after another are not refused while the worker is held after its answer" {
  command -v strace >/dev/null || skip "strace is not installed"
  local pids=() p n strace_pid
  for p in $(fcgi_worker_pids); do pids+=(-p "$p"); done
  strace -qq -o /dev/null -e trace=writev \
    -e inject=writev:delay_exit=500000 "${pids[@]}" 2>"$T/strace.err" &
  strace_pid=$!
  echo "$strace_pid" > "$T/strace.pid"
  for ((n = 0; n < 50; n++)); do
    [ "$(workers_traced_by "$strace_pid")" = $((${#pids[@]} / 2)) ] && break
    sleep 0.1
  done
  [ "$(workers_traced_by "$strace_pid")" = $((${#pids[@]} / 2)) ] ||
    skip "strace cannot attach to the workers: $(cat "$T/strace.err")"
  sequential_gets held 4
}

# The workers go on untraced.
teardown () {
  local pid
  pid=$(cat "$BATS_TEST_TMPDIR/strace.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || :
  wait "$pid" 2>/dev/null || :
}
