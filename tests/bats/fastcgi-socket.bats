#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Who may talk to imagexfer's FastCGI socket, and what a peer there that
# is not a working web server can hold (fcgi/fastcgi-accept.h): a
# connection that sends nothing, or part of a request, frees its worker
# after client_timeout; a connection kept for the next request
# (FCGI_KEEP_CONN) is watched while the worker is idle and let go for a
# new one (fcgi/connection-wait.h); on a TCP socket, which every local
# account can reach, the administrator's mark is refused and
# FCGI_WEB_SERVER_ADDRS says which peers are served.  The peer here is
# tests/bats/fastcgi-request.py, speaking FastCGI as a web server would.

load helpers
load expect

setup ()
{
  T=$BATS_TEST_TMPDIR
  TCP_PID=""
}

teardown ()
{
  if [ -n "$TCP_PID" ]; then
    kill -TERM "$TCP_PID" 2>/dev/null || :
    _stack_wait_gone "$TCP_PID" 100 || kill -KILL "$TCP_PID" 2>/dev/null || :
  fi
  if [ -n "${HOLDERS:-}" ]; then
    # shellcheck disable=SC2086 # a list of pids
    kill $HOLDERS 2>/dev/null || :
  fi
  if [ -n "${STACK_DIR:-}" ]; then
    stack_stop
  fi
}

fastcgi () { python3 "$top_srcdir/tests/bats/fastcgi-request.py" "$@"; }

# tcp_start [--conf "key = value"]... [ENV=VALUE...]: imagexfer-fcgi
# alone on a TCP port of 127.0.0.1 with one worker and client_timeout 2;
# sets TCP_ADDR, TCP_LOG.  A port taken between the pick and the bind
# is picked again.
tcp_start ()
{
  local attempt n
  mkdir -p "$T/spool" "$T/state"
  printf '%s\n' "spool_dir = $T/spool" "state_dir = $T/state" \
    "workers = 1" "client_timeout = 2" > "$T/imagexfer.conf"
  while [ "${1:-}" = --conf ]; do
    echo "$2" >> "$T/imagexfer.conf"
    shift 2
  done
  TCP_LOG=$T/fcgi.log
  for attempt in 1 2 3 4 5; do
    TCP_ADDR=127.0.0.1:$(_stack_pick_port)
    env "$@" "$IMAGEXFER_FCGI" --config "$T/imagexfer.conf" \
      --listen "$TCP_ADDR" </dev/null >"$TCP_LOG" 2>&1 3>&- 4>&- 5>&- &
    TCP_PID=$!
    n=100
    until grep -q "serving with 1 worker" "$TCP_LOG"; do
      if ! kill -0 "$TCP_PID" 2>/dev/null; then
        wait "$TCP_PID" || :
        TCP_PID=""
        grep -qE "cannot listen on|Address already in use" "$TCP_LOG" && continue 2
        fail "imagexfer-fcgi exited: $(cat "$TCP_LOG")"
      fi
      (( n-- > 0 )) || fail "imagexfer-fcgi did not start: $(cat "$TCP_LOG")"
      sleep 0.1
    done
    return 0
  done
  fail "no free port after $attempt attempts: $(cat "$TCP_LOG")"
}

# hold ADDRESS BYTES: a peer that sends the first BYTES bytes of a
# request and then nothing, for up to 30 s, in the background; what it
# saw goes to $T/hold.N.
hold ()
{
  local n=$(( ${HOLD_COUNT:-0} + 1 ))
  HOLD_COUNT=$n
  fastcgi "$1" --hold 30 --send "$2" > "$T/hold.$n" 3>&- &
  HOLDERS="${HOLDERS:-} $!"
  sleep 0.3
}

# expect_holders_freed: every holder was closed by imagexfer, after about
# client_timeout (2 s), not held for its 30 s.
expect_holders_freed ()
{
  local f
  # shellcheck disable=SC2086 # a list of pids
  wait $HOLDERS
  HOLDERS=""
  for f in "$T"/hold.*; do
    run cat "$f"
    [[ $output =~ ^closed\ after\ ([0-9]+)\.[0-9]\ s$ ]] \
      || fail "$f: $output (imagexfer should have closed it)"
    (( BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= 5 )) \
      || fail "$f: $output (client_timeout is 2 s)"
  done
}

@test "unix socket: peers that send a byte or part of a begin record free the only worker after client_timeout" {
  stack_start --mode daemon --workers 1 --conf-extra "client_timeout = 2"
  image_random "$IMAGES/a.raw" 65536
  file_transfer a "$IMAGES/a.raw"
  hold "$STACK_DIR/fcgi.sock" 1
  hold "$STACK_DIR/fcgi.sock" 5
  # Before: libfcgi read these with no time limit, and the worker never
  # came back to serve this.
  http --max-time 20 "$BASE_URL/images/a"
  expect_status 200
  cmp "$STACK_DIR/body" "$IMAGES/a.raw"
  expect_holders_freed
}

@test "unix socket: a connection kept with FCGI_KEEP_CONN is answered again after a pause, by the only worker" {
  stack_start --mode daemon --workers 1 --conf-extra "client_timeout = 30"
  image_random "$IMAGES/a.raw" 65536
  file_transfer a "$IMAGES/a.raw"
  # Before: the worker waited on the listening socket alone, and the
  # second request sat unread on the kept connection (30 s, then
  # "closed").
  run fastcgi "$STACK_DIR/fcgi.sock" --kept 3 1 GET /images/a HTTP_RANGE=bytes=0-4095
  [ "$status" -eq 0 ] || fail "$output"
  (( ${#lines[@]} == 3 )) || fail "$output"
  local line
  for line in "${lines[@]}"; do
    [[ $line =~ ^Status:\ 206\ Partial\ Content\ in\ ([0-9]+)\.[0-9]+\ s$ ]] \
      || fail "$output"
    (( BASH_REMATCH[1] < 3 )) || fail "$output"
  done
}

@test "unix socket: a request on a kept connection whose sender then closes its side is answered" {
  stack_start --mode daemon --workers 1 --conf-extra "client_timeout = 30"
  image_random "$IMAGES/a.raw" 65536
  file_transfer a "$IMAGES/a.raw"
  # The second request comes with the end of the web server's side: the
  # worker, told of the close, must still find and answer it.
  run fastcgi "$STACK_DIR/fcgi.sock" --kept 2 0.5 --shut GET /images/a HTTP_RANGE=bytes=0-4095
  [ "$status" -eq 0 ] || fail "$output"
  [[ ${lines[0]} == "Status: 206 Partial Content in "* ]] || fail "$output"
  [[ ${lines[1]} == "Status: 206 Partial Content in "* ]] || fail "$output"
}

@test "unix socket: a worker keeping an idle connection lets it go for a new one at once" {
  stack_start --mode daemon --workers 1 --conf-extra "client_timeout = 30"
  image_random "$IMAGES/a.raw" 65536
  file_transfer a "$IMAGES/a.raw"
  # The kept connection's second request would come after 30 s; the
  # client says when the worker closed the connection before that.
  fastcgi "$STACK_DIR/fcgi.sock" --kept 2 30 GET /images/a > "$T/kept.out" 3>&- &
  local kept=$! n=100
  until grep -q '^Status: 200 OK' "$T/kept.out"; do
    (( n-- > 0 )) || fail "the first request on the kept connection: $(cat "$T/kept.out")"
    sleep 0.1
  done
  # Kept idle a while first: the worker lets it go for the new
  # connection, not on a timer.
  sleep 2
  # Before: the worker read the kept connection first, until its second
  # request came (30 s), while this one waited.
  local t0=$SECONDS
  run timeout 40 python3 "$top_srcdir/tests/bats/fastcgi-request.py" \
    "$STACK_DIR/fcgi.sock" GET /images/a HTTP_RANGE=bytes=0-4095
  (( SECONDS - t0 <= 15 )) || fail "the new connection waited $((SECONDS - t0)) s"
  [ "$status" -eq 0 ] || fail "$output"
  [[ ${lines[0]} == "Status: 206 Partial Content"* ]] || fail "$output"
  # The kept connection was closed, as a web server's pool expects
  # (nginx sends its next request again on a new one), during the pause
  # and after the 2 s above.
  local rc=0
  wait "$kept" || rc=$?
  run cat "$T/kept.out"
  (( rc == 1 )) || fail "rc $rc: $output"
  [[ ${lines[0]} == "Status: 200 OK in "* ]] || fail "$output"
  [[ ${lines[1]} =~ ^closed\ after\ ([0-9]+)\.[0-9]\ s$ ]] || fail "$output"
  (( BASH_REMATCH[1] >= 2 && BASH_REMATCH[1] < 29 )) || fail "$output"
}

@test "unix socket: the administrator's mark is taken (the socket's permissions say who connects)" {
  stack_start --mode daemon --workers 1
  run fastcgi "$STACK_DIR/fcgi.sock" GET /api/v2/transfers IMAGEXFER_LISTENER=admin
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "Status: 200 OK"* ]] || fail "$output"
  [[ $output == *'{"transfers":[]}'* ]] || fail "$output"
}

@test "TCP socket: a warning at start; the administrator's mark is refused with 403" {
  tcp_start
  grep -q "warning: the FastCGI socket is TCP: every account and host that can connect to it speaks as the web server" "$TCP_LOG"
  run fastcgi "$TCP_ADDR" GET /api/v2/transfers IMAGEXFER_LISTENER=admin
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "Status: 403 Forbidden"* ]] || fail "$output"
  [[ $output == *"the administrator's socket must reach imagexfer over a unix FastCGI socket, not TCP"* ]] \
    || fail "$output"
  # /images still answers there.
  run fastcgi "$TCP_ADDR" GET /images/nothing-here
  [[ ${lines[0]} == "Status: 404 Not Found"* ]] || fail "$output"
}

@test "TCP socket: admin_tcp = loopback answers a loopback client on a connection from this machine" {
  tcp_start --conf "admin_tcp = loopback"
  run fastcgi "$TCP_ADDR" GET /api/v2/transfers REMOTE_ADDR=127.0.0.1 HTTP_HOST=localhost
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "Status: 200 OK"* ]] || fail "$output"
  grep -q "admin_tcp = loopback answers only connections from this machine" "$TCP_LOG"
}

@test "TCP socket: peers that send nothing or part of a request free the only worker after client_timeout" {
  tcp_start
  hold "$TCP_ADDR" 0
  hold "$TCP_ADDR" 3
  run timeout 20 python3 "$top_srcdir/tests/bats/fastcgi-request.py" \
    "$TCP_ADDR" GET /images/nothing-here
  [ "$status" -eq 0 ] || fail "no answer while peers held the worker: $output"
  [[ ${lines[0]} == "Status: 404 Not Found"* ]] || fail "$output"
  expect_holders_freed
}

@test "TCP socket: FCGI_WEB_SERVER_ADDRS without this peer: closed unanswered, logged once per 10 s; with it (as ::ffff:127.0.0.1): served" {
  tcp_start FCGI_WEB_SERVER_ADDRS=192.0.2.1,2001:db8::1
  run fastcgi "$TCP_ADDR" GET /images/nothing-here
  [ "$status" -eq 1 ] || fail "answered: $output"
  [ -z "$output" ]
  grep -q "warning: worker: FastCGI connection from 127.0.0.1 refused: not in FCGI_WEB_SERVER_ADDRS" "$TCP_LOG"
  # A peer that keeps coming back is logged once per 10 s, not once per
  # connection.
  local i
  for i in 1 2 3 4 5; do
    run fastcgi "$TCP_ADDR" GET /images/nothing-here
    [ "$status" -eq 1 ] || fail "answered: $output"
  done
  expect_eq "$(grep -c "refused: not in FCGI_WEB_SERVER_ADDRS" "$TCP_LOG")" 1 \
    "refusals logged"
  kill -TERM "$TCP_PID"
  wait "$TCP_PID" || :
  TCP_PID=""
  # An IPv4 address in IPv6 form names the same peer.
  tcp_start "FCGI_WEB_SERVER_ADDRS=192.0.2.1, ::ffff:127.0.0.1"
  run fastcgi "$TCP_ADDR" GET /images/nothing-here
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "Status: 404 Not Found"* ]] || fail "$output"
}

@test "TCP socket: a peer refused while a connection is kept does not turn that connection into the trusted unix one" {
  tcp_start --conf "client_timeout = 30" FCGI_WEB_SERVER_ADDRS=127.0.0.1
  # Two requests for /api with the administrator's mark on one kept
  # connection; between them a connection from 127.0.0.2, which is not
  # in FCGI_WEB_SERVER_ADDRS, reaches the only worker and is refused.
  # Before, the refusal left the worker taking the kept connection for a
  # unix one, and the second request was answered 200.
  fastcgi "$TCP_ADDR" --kept 2 3 GET /api/v2/transfers IMAGEXFER_LISTENER=admin \
    > "$T/kept" 3>&- &
  local kept=$! n=50
  sleep 1
  curl -s --max-time 5 --interface 127.0.0.2 "http://$TCP_ADDR/" >/dev/null || :
  until grep -q "connection from 127.0.0.2 refused" "$TCP_LOG"; do
    (( n-- > 0 )) || fail "the refusal was not logged: $(cat "$TCP_LOG")"
    sleep 0.1
  done
  wait "$kept" || fail "kept connection: $(cat "$T/kept")"
  run cat "$T/kept"
  (( ${#lines[@]} == 2 )) || fail "$output"
  [[ ${lines[0]} == "Status: 403 Forbidden in "* ]] || fail "$output"
  [[ ${lines[1]} == "Status: 403 Forbidden in "* ]] || fail "$output"
}

@test "TCP socket: an FCGI_WEB_SERVER_ADDRS that is not a list of addresses stops the start, exit 1" {
  mkdir -p "$T/spool" "$T/state"
  printf '%s\n' "spool_dir = $T/spool" "state_dir = $T/state" > "$T/imagexfer.conf"
  run timeout 10 env FCGI_WEB_SERVER_ADDRS=127.0.0.1,web1 "$IMAGEXFER_FCGI" \
    --config "$T/imagexfer.conf" --listen "127.0.0.1:$(_stack_pick_port)"
  [ "$status" -eq 1 ]
  [[ $output == *'error: FCGI_WEB_SERVER_ADDRS: "web1" is not an IPv4 or IPv6 address'* ]] \
    || fail "$output"
  # libfcgi took inet_addr's short forms; they are refused here.
  run timeout 10 env FCGI_WEB_SERVER_ADDRS=127.1 "$IMAGEXFER_FCGI" \
    --config "$T/imagexfer.conf" --listen "127.0.0.1:$(_stack_pick_port)"
  [ "$status" -eq 1 ]
  [[ $output == *'error: FCGI_WEB_SERVER_ADDRS: "127.1" is not an IPv4 or IPv6 address'* ]] \
    || fail "$output"
  run timeout 10 env FCGI_WEB_SERVER_ADDRS=" , " "$IMAGEXFER_FCGI" \
    --config "$T/imagexfer.conf" --listen "127.0.0.1:$(_stack_pick_port)"
  [ "$status" -eq 1 ]
  [[ $output == *"error: FCGI_WEB_SERVER_ADDRS is set but lists no address"* ]] \
    || fail "$output"
}
