#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Clients that stall (stop sending their body, stop reading the response)
# cannot hold a worker longer than client_timeout: with the only worker
# held by a stalled client, another request is answered within seconds,
# and the stalled request never ends as a success.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 1 --conf-extra "client_timeout = 2"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

@test "a stalled upload frees the worker after client_timeout; earlier chunks stay" {
  new_image up 8388608
  # 5 MiB of an announced 8 MiB, then nothing for 20 s.  (An empty
  # Transfer-Encoding keeps curl from sending the pipe chunked, which
  # lighttpd refuses.)
  head -c 5242880 /dev/urandom > "$T/part"
  { cat "$T/part"; sleep 20; } |
    curl -sS -o "$T/put.body" -w '%{http_code}\n' --max-time 40 -T - \
      -H 'Content-Length: 8388608' -H 'Transfer-Encoding:' \
      "$BASE_URL/images/up" \
      > "$T/put.code" 2>/dev/null &
  local cpid=$!
  sleep 2
  expect_worker_free 10 "while a client stalls"
  kill "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  [ "$(cat "$T/put.code" 2>/dev/null)" != 200 ] || fail "the stalled upload answered 200"
  # The first whole chunk (4 MiB) arrived before the stall: written.
  cmp <(head -c 4194304 "$T/part") <(head -c 4194304 "$IMAGES/up.raw") \
    || fail "the chunk sent before the stall was not written"
  # Nothing past what was sent changed.
  cmp <(tail -c 3145728 "$T/up.orig") <(tail -c 3145728 "$IMAGES/up.raw") \
    || fail "bytes beyond the upload changed"
  grep -q 'stopped sending (client_timeout)' "$FCGI_LOG" \
    || fail "the log does not say why the upload stopped"
}

@test "a download nobody reads frees the worker after client_timeout" {
  image_sparse "$IMAGES/dl.raw" 512M
  file_transfer dl "$IMAGES/dl.raw"
  # curl stops reading once the pipe to a sleeping reader is full.
  curl -sS --max-time 40 "$BASE_URL/images/dl" 2>/dev/null | sleep 25 &
  local cpid=$!
  sleep 2
  expect_worker_free 10 "while a client stalls"
  kill "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
}
