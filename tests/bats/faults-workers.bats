#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Faults around the worker pool (DESIGN.md, API.md section 2): clients
# that vanish mid-upload, workers killed mid-request, SIGTERM drain,
# SIGHUP reload, and the command line without a socket.  Each test starts
# its own stack (spawned by lighttpd or as a daemon), since tests kill
# processes.

bats_require_minimum_version 1.5.0

load helpers
load expect

WORKERS=3

# imagexfer's stderr: $FCGI_LOG, and in spawned mode lighttpd passes its
# own stderr (lighttpd.out in the test stack) to the program it spawns.
fcgi_logs () { cat "$FCGI_LOG" "$STACK_DIR/lighttpd.out" 2>/dev/null; }

worker_count () { fcgi_worker_pids 2>/dev/null | wc -l; }

# wait_workers OLD-PIDS: until WORKERS workers run and none is in OLD-PIDS
# (at most 10 s).
wait_workers_replaced () {
  local old=" $* " n=100 pids p fresh
  while (( n-- > 0 )); do
    pids=$(fcgi_worker_pids 2>/dev/null | tr '\n' ' ')
    fresh=yes
    for p in $pids; do
      [[ $old == *" $p "* ]] && fresh=""
    done
    if [ -n "$fresh" ] && [ "$(wc -w <<< "$pids")" -eq "$WORKERS" ]; then
      return 0
    fi
    sleep 0.1
  done
  fail "workers not replaced: old [$*], now [$(fcgi_worker_pids | tr '\n' ' ')]"
}

# A full GET of the good transfer works, byte-exact.
request_ok () {
  http "$BASE_URL/images/good"
  expect_status 200
  cmp "$STACK_DIR/body" "$IMAGES/good.raw"
}

start () {           # MODE [WORKERS]
  stack_start --mode "$1" --workers "${2:-$WORKERS}"
  image_random "$IMAGES/good.raw" 100000
  file_transfer good "$IMAGES/good.raw"
  T=$BATS_TEST_TMPDIR
}

teardown () {
  if [ -n "${CURL_PID:-}" ]; then
    kill "$CURL_PID" 2>/dev/null || :
  fi
  if [ -n "${STACK_DIR:-}" ]; then
    stack_stop
  fi
}

@test "usage: neither a socket on fd 0 nor --listen: usage on stderr, exit 2" {
  local bin=$top_builddir/fcgi/imagexfer-fcgi
  run --separate-stderr "$bin" < /dev/null
  expect_eq "$status" 2 "exit status"
  [[ ${stderr,,} == *usage* ]] || fail "no usage on stderr: '$stderr'"
  expect_eq "$output" "" "stdout"
  run --separate-stderr "$bin" --workers 2 < /dev/null
  expect_eq "$status" 2 "exit status with --workers only"
  [[ ${stderr,,} == *usage* ]] || fail "no usage on stderr: '$stderr'"
}

# The access log line of a completed request looks like
# "PUT <id> range=... in=N out=N status=CODE ...".
# client_gone_mid_upload MODE
client_gone_mid_upload () {
  start "$1"
  # Control: a good PUT is logged with status=200 (the pattern works).
  image_random "$IMAGES/ctl.raw" 1000
  file_transfer ctl "$IMAGES/ctl.raw"
  head -c 1000 "$IMAGES/good.raw" > "$T/ctl.src"
  http -T "$T/ctl.src" "$BASE_URL/images/ctl"
  expect_status 200
  sleep 0.5
  fcgi_logs | grep -q "PUT ctl .*status=200" || fail "control PUT not logged as 200"

  image_random "$IMAGES/up.raw" 1048576
  cp "$IMAGES/up.raw" "$T/orig"
  file_transfer up "$IMAGES/up.raw"
  image_random "$T/src" 1048576

  # Half the body, then the client closes.
  local conn
  exec {conn}<>"/dev/tcp/127.0.0.1/$STACK_PORT"
  printf 'PUT /images/up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\nContent-Type: application/octet-stream\r\n\r\n' >&"$conn"
  head -c 300000 "$T/src" >&"$conn"
  sleep 0.5
  exec {conn}>&-

  # A curl that gives up mid-upload too (throttled, short timeout).
  image_random "$IMAGES/up2.raw" 4194304
  cp "$IMAGES/up2.raw" "$T/orig2"
  file_transfer up2 "$IMAGES/up2.raw"
  image_random "$T/src2" 4194304
  local rc=0
  curl -sS -o /dev/null --limit-rate 200K --max-time 2 -T "$T/src2" \
    "$BASE_URL/images/up2" 2>/dev/null || rc=$?
  expect_eq "$rc" 28 "curl exit (timeout mid-upload)"

  sleep 1
  request_ok
  # Nothing past what the clients sent can have changed.
  cmp <(extract "$IMAGES/up.raw" 300000 9999999) <(extract "$T/orig" 300000 9999999) ||
    fail "bytes after the sent part of up changed"
  cmp <(extract "$IMAGES/up2.raw" 2097152 9999999) <(extract "$T/orig2" 2097152 9999999) ||
    fail "bytes after the sent part of up2 changed"
  # What was written is a prefix of what was sent, the rest the original:
  # from the first byte that differs from the upload on, the original.
  local first
  first=$(cmp "$IMAGES/up.raw" "$T/src" 2>/dev/null | awk '{ sub(",", "", $5); print $5 }')
  if [ -n "$first" ]; then
    cmp <(extract "$IMAGES/up.raw" $(( first - 1 )) 9999999) \
        <(extract "$T/orig" $(( first - 1 )) 9999999) ||
      fail "up is neither the upload nor the original from byte $first on"
  fi
  ! fcgi_logs | grep -q "PUT up .*status=200" || fail "the cut upload was logged as 200"
  ! fcgi_logs | grep -q "PUT up2 .*status=200" || fail "the cut upload 2 was logged as 200"
  # And the transfers still work.
  http -T "$T/src" "$BASE_URL/images/up"
  expect_status 200
  cmp "$IMAGES/up.raw" "$T/src"
}

@test "a client gone mid-upload: no 200, bytes beyond unchanged, next request fine (spawned)" {
  client_gone_mid_upload spawned
}

@test "a client gone mid-upload: no 200, bytes beyond unchanged, next request fine (daemon)" {
  client_gone_mid_upload daemon
}

# kill_workers_mid_download MODE
kill_workers_mid_download () {
  start "$1"
  image_sparse "$IMAGES/slow.raw" 256M
  file_transfer slow "$IMAGES/slow.raw"
  local old
  old=$(fcgi_worker_pids | tr '\n' ' ')
  expect_eq "$(wc -w <<< "$old")" "$WORKERS" "workers at start"
  # Throttled, but not too much: after the kill the client still reads
  # what the kernel's socket buffers hold (10-20 MiB on loopback).
  curl -sS --limit-rate 4M --max-time 60 -o "$T/out" -w '%{http_code}' \
    "$BASE_URL/images/slow" > "$T/code" 2>/dev/null &
  CURL_PID=$!
  sleep 1.5
  kill -0 "$CURL_PID" || fail "the download ended before the kill"
  # shellcheck disable=SC2086
  kill -KILL $old
  local rc=0 t0=$SECONDS
  wait "$CURL_PID" || rc=$?
  CURL_PID=""
  (( rc != 0 && rc != 28 )) ||
    fail "curl exit $rc: the client did not see the failure promptly"
  (( $(stat -c %s "$T/out") < 268435456 )) || fail "the whole image arrived"
  (( SECONDS - t0 <= 20 )) || fail "the client waited $((SECONDS - t0)) s"
  # shellcheck disable=SC2086
  wait_workers_replaced $old
  kill -0 "$(fcgi_supervisor_pid)"
  request_ok
  http -r 1000-1999 "$BASE_URL/images/good"
  expect_status 206
}

@test "SIGKILL of the workers mid-download: client error, workers replaced (spawned)" {
  kill_workers_mid_download spawned
}

@test "SIGKILL of the workers mid-download: client error, workers replaced (daemon)" {
  kill_workers_mid_download daemon
}

@test "one worker killed while idle is replaced; the others keep serving (daemon)" {
  start daemon
  local victim
  victim=$(fcgi_worker_pids | head -n 1)
  kill -KILL "$victim"
  wait_workers_replaced "$victim"
  local i
  for i in 1 2 3 4 5 6; do
    request_ok
  done
}

@test "SIGTERM drains: the download in flight completes, then the daemon exits" {
  start daemon
  image_random "$IMAGES/drain.raw" 24M
  file_transfer drain "$IMAGES/drain.raw"
  local sup
  sup=$(fcgi_supervisor_pid)
  curl -sS --limit-rate 2M --max-time 60 -o "$T/out" -w '%{http_code}' \
    "$BASE_URL/images/drain" > "$T/code" 2>"$T/err" &
  CURL_PID=$!
  sleep 1
  kill -0 "$CURL_PID" ||
    fail "the download ended before SIGTERM: $(cat "$T/code" "$T/err")"
  kill -TERM "$sup"
  local rc=0
  wait "$CURL_PID" || rc=$?
  CURL_PID=""
  expect_eq "$rc" 0 "curl exit ($(cat "$T/err"))"
  expect_eq "$(cat "$T/code")" 200 "status of the drained download"
  cmp "$T/out" "$IMAGES/drain.raw"
  local n=150
  while kill -0 "$sup" 2>/dev/null && (( n-- > 0 )); do
    sleep 0.1
  done
  ! kill -0 "$sup" 2>/dev/null || fail "the supervisor still runs 15 s after the drain"
  [ -z "$(pgrep -P "$sup")" ] || fail "workers left behind"
}

@test "SIGTERM drains: requests queued behind a busy worker are answered, then 503" {
  start daemon 1
  image_random "$IMAGES/q.raw" 32M
  file_transfer q "$IMAGES/q.raw"
  curl -sS --limit-rate 8M --max-time 60 -o /dev/null -w '%{http_code}' \
    "$BASE_URL/images/q" > "$T/c0" &
  local busy=$! queued="" i
  sleep 0.5
  # The only worker is busy: these wait in the socket's queue.
  for i in 1 2 3; do
    curl -sS --max-time 60 -o "$T/r$i" -w '%{http_code}' -H 'Range: bytes=0-9' \
      "$BASE_URL/images/q" > "$T/c$i" &
    queued="$queued $!"
  done
  sleep 0.5
  kill -TERM "$(fcgi_supervisor_pid)"
  # shellcheck disable=SC2086 # one word per pid
  wait "$busy" $queued || :
  expect_eq "$(cat "$T/c0")" 200 "the download in flight"
  for i in 1 2 3; do
    expect_eq "$(cat "$T/c$i")" 206 "queued request $i"
    cmp "$T/r$i" <(head -c 10 "$IMAGES/q.raw")
  done
  # Drained: the web server finds nobody and says so at once.
  http "$BASE_URL/images/q"
  expect_status 503
}

@test "SIGHUP re-reads the config and replaces the workers (daemon)" {
  start daemon
  local sup old
  sup=$(fcgi_supervisor_pid)
  old=$(fcgi_worker_pids | tr '\n' ' ')
  sed -i -e '/^log_level/d' -e '/^chunk_size/d' "$STACK_DIR/imagexfer.conf"
  printf 'log_level = info\nchunk_size = 128K\n' >> "$STACK_DIR/imagexfer.conf"
  kill -HUP "$sup"
  # shellcheck disable=SC2086
  wait_workers_replaced $old
  expect_eq "$(fcgi_supervisor_pid)" "$sup" "supervisor pid"
  request_ok
  # Streams in the new chunk size: a 1 MiB + 1 image both ways.
  image_random "$IMAGES/hup.raw" 1048577
  file_transfer hup "$IMAGES/hup.raw"
  image_random "$T/src" 1048577
  http -T "$T/src" "$BASE_URL/images/hup"
  expect_status 200
  http "$BASE_URL/images/hup"
  expect_status 200
  cmp "$STACK_DIR/body" "$T/src"
}

@test "SIGHUP with a broken config keeps serving (daemon)" {
  start daemon
  local sup
  sup=$(fcgi_supervisor_pid)
  echo 'chunk_size = lots' >> "$STACK_DIR/imagexfer.conf"
  kill -HUP "$sup"
  sleep 1
  kill -0 "$sup" || fail "the supervisor died on a bad config"
  expect_eq "$(worker_count)" "$WORKERS" "workers"
  request_ok
}
