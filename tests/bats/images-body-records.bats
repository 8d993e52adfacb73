#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Upload bodies as the worker reads them, in whole FastCGI records
# (fcgi/fastcgi-stdin.c), through lighttpd and through nginx: bodies
# that arrive in records of odd sizes land byte-exact, several uploads
# follow each other on one client connection (nginx asks imagexfer to
# keep its connection, FCGI_KEEP_CONN), and a client that vanishes
# mid-body ends its request cleanly while the worker keeps serving.

load helpers
load expect

setup ()
{
  T=$BATS_TEST_TMPDIR
}

teardown ()
{
  stack_stop
}

# start FRONT: a stack of one worker behind FRONT, so that every request
# below is served by the same process.
start ()
{
  if [ "$1" = nginx ] && [ ! -x "$NGINX" ]; then
    skip "nginx is not installed (Debian: nginx)"
  fi
  stack_start --front "$1" --workers 1
  WORKER=$(fcgi_worker_pids)
  [ -n "$WORKER" ]
}

send_in_pieces ()
{
  python3 "$top_srcdir/tests/bats/send-in-pieces.py" "$STACK_PORT" "$@"
}

expect_same_worker ()
{
  expect_eq "$(fcgi_worker_pids)" "$WORKER" "worker pid"
}

odd_pieces ()
{
  local size=$((2 * 1048576 + 13)) out
  start "$1"
  new_image up "$size"
  image_random "$T/src" "$size"
  out=$(send_in_pieces /images/up "$T/src")
  expect_eq "$out" 200 "status"
  same_file "$IMAGES/up.raw" "$T/src"
  expect_same_worker
}

@test "lighttpd: a body sent in pieces of odd sizes lands byte-exact" {
  odd_pieces lighttpd
}

@test "nginx: a body sent in pieces of odd sizes lands byte-exact" {
  odd_pieces nginx
}

uploads_in_a_row ()
{
  local size=777777 out
  start "$1"
  new_image up "$size"
  image_random "$T/src" "$size"
  out=$(send_in_pieces /images/up "$T/src" --requests 3 | tr '\n' ' ')
  expect_eq "$out" "200 200 200 " "statuses"
  same_file "$IMAGES/up.raw" "$T/src"
  # An upload refused before its body is read (no such transfer), then
  # one that is read: the refused body is never taken for a request.
  out=$(send_in_pieces /images/nosuch "$T/src")
  expect_eq "$out" 404 "status of an unknown transfer"
  head -c "$size" /dev/urandom > "$T/src2"
  http -T "$T/src2" "$BASE_URL/images/up"
  expect_written "$size"
  same_file "$IMAGES/up.raw" "$T/src2"
  http "$BASE_URL/images/up"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/src2"
  expect_same_worker
}

@test "lighttpd: three uploads on one client connection, then a refused one" {
  uploads_in_a_row lighttpd
}

@test "nginx: three uploads on one client connection, then a refused one" {
  uploads_in_a_row nginx
}

client_vanishes ()
{
  local size=$((3 * 1048576)) n
  start "$1"
  new_image up "$size"
  image_random "$T/src" "$size"
  send_in_pieces /images/up "$T/src" --vanish-after 1500000
  for ((n = 0; n < 100; n++)); do
    grep -q "client went away after [0-9]* of $size bytes" "$FCGI_LOG" && break
    sleep 0.1
  done
  grep "client went away after [0-9]* of $size bytes" "$FCGI_LOG" \
    || fail "no 'client went away' in the log"
  # The worker is still there and serves the next upload in full.
  http -T "$T/src" "$BASE_URL/images/up"
  expect_written "$size"
  same_file "$IMAGES/up.raw" "$T/src"
  expect_same_worker
}

@test "lighttpd: a client gone mid-body ends its request; the worker serves on" {
  client_vanishes lighttpd
}

@test "nginx: a client gone mid-body ends its request; the worker serves on" {
  client_vanishes nginx
}
