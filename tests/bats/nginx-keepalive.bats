#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nginx with an upstream keepalive pool in front of the daemon (the
# shipped snippets, with /images passed through "upstream { keepalive }"):
# nginx then sends requests on FastCGI connections it keeps, which the
# workers watch while idle and let go for a new one
# (fcgi/connection-wait.h).  Requests one after another are answered at
# once, on one connection; bytes are exact both ways, many clients at
# once share the pool, and a cancel still stops a download.  Without a
# pool (as shipped) nginx asks to keep each connection and closes it;
# the worker closes it too.

load helpers
load expect

setup_file ()
{
  [ -x "$NGINX" ] || skip "nginx is not installed (Debian: nginx)"
}

setup ()
{
  T=$BATS_TEST_TMPDIR
}

teardown ()
{
  stack_stop
}

# worker_connections: the sockets the only worker has open but the
# listening one (the sockets the supervisor holds too), one per line.
worker_connections ()
{
  local pid listening
  pid=$(fcgi_worker_pids)
  listening=$(find "/proc/$(fcgi_supervisor_pid)/fd" -lname 'socket:*' \
                -printf '%l\n' | sort -u)
  find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' | sort -u \
    | grep -vxF "$listening" || :
}

# get_quickly ID FILE N: N ranged GETs one after another, each answered
# 206 with its bytes of FILE within 5 s.
get_quickly ()
{
  local i first
  for (( i = 0; i < $3; i++ )); do
    first=$(( i * 4096 ))
    http --max-time 5 -H "Range: bytes=$first-$(( first + 4095 ))" \
      "$BASE_URL/images/$1"
    expect_status 206
    extract "$2" "$first" 4096 > "$T/expected"
    expect_body_is "$T/expected"
  done
}

@test "nginx pool: requests one after another on kept connections are answered at once by the only worker" {
  stack_start --front nginx --workers 1 --nginx-keepalive 4 \
    --conf-extra "client_timeout = 30"
  new_image seq 1048576
  # Before: every second request sat on the kept connection unread until
  # the client gave up.
  get_quickly seq "$T/seq.orig" 1
  local first
  first=$(worker_connections)
  [ -n "$first" ] || fail "the worker kept no connection after a request"
  get_quickly seq "$T/seq.orig" 8
  # They all came on that one connection, which the worker still holds.
  expect_eq "$(worker_connections)" "$first" "the worker's connections"
}

@test "nginx as shipped (no pool): each connection nginx closes after its answer is closed by the worker too" {
  stack_start --front nginx --workers 1
  new_image ship 1048576
  get_quickly ship "$T/ship.orig" 4
  local n=50
  until [ -z "$(worker_connections)" ]; do
    (( n-- > 0 )) || fail "the worker still holds: $(worker_connections)"
    sleep 0.1
  done
  get_quickly ship "$T/ship.orig" 2
}

@test "nginx pool: PUT and GET through kept connections are byte-exact" {
  stack_start --front nginx --workers 2 --nginx-keepalive 4
  new_image rt 8388608
  local round
  for round in 1 2 3; do
    head -c 8388608 /dev/urandom > "$T/src.raw"
    http --max-time 30 -X PUT --data-binary "@$T/src.raw" "$BASE_URL/images/rt"
    expect_written 8388608
    same_file "$T/src.raw" "$IMAGES/rt.raw"
    http --max-time 30 "$BASE_URL/images/rt"
    expect_status 200
    expect_body_is "$T/src.raw"
  done
}

@test "nginx pool: 8 clients at once on 2 workers: every answer is a 206 with the right bytes" {
  stack_start --front nginx --workers 2 --nginx-keepalive 8 \
    --conf-extra "max_readers = 8"
  new_image many 1048576
  local c pids=()
  for c in 1 2 3 4 5 6 7 8; do
    (
      for (( i = 0; i < 25; i++ )); do
        first=$(( (c * 25 + i) % 256 * 4096 ))
        code=$(curl -sS --max-time 10 -o "$T/got.$c" -w '%{http_code}' \
                 -H "Range: bytes=$first-$(( first + 4095 ))" \
                 "$BASE_URL/images/many") || { echo "curl failed"; exit 1; }
        [ "$code" = 206 ] || { echo "status $code"; exit 1; }
        extract "$T/many.orig" "$first" 4096 | cmp -s - "$T/got.$c" \
          || { echo "bytes at $first differ"; exit 1; }
      done
    ) > "$T/client.$c" 2>&1 &
    pids+=($!)
  done
  local failed=""
  for c in 1 2 3 4 5 6 7 8; do
    wait "${pids[c - 1]}" || failed+=" $c: $(cat "$T/client.$c")"
  done
  [ -z "$failed" ] || fail "clients failed:$failed"
}

@test "nginx pool: descriptor deleted mid-download: the download stops, never a complete 200" {
  stack_start --front nginx --workers 2 --nginx-keepalive 4
  new_image warm 65536
  get_quickly warm "$T/warm.orig" 2
  expect_download_cancelled long
  # The worker that served it answers again on the pool.
  get_quickly warm "$T/warm.orig" 2
}
