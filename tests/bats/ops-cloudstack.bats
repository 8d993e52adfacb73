#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# CloudStack's image server control socket (API.md section 4):
# imagexferctl serve-cloudstack driven with the agent's own request
# shapes (one JSON line in, one out, through python's socket module),
# the registered transfers then used with curl on /images.

bats_require_minimum_version 1.5.0

load helpers
load expect
load ctl-helpers
load nbd-helpers

# serve-cloudstack SOCKET [ARGS...]: started in the background, waited
# for (bounded); its pid in $STACK_DIR/cs-<name>.pid, log beside it.
cs_start () {
  local sock=$1 name n=100
  name=$(basename "$sock" .sock)
  shift
  # Not through ctl (): $! must be the server itself.
  "$CTL" --config "$STACK_DIR/imagexfer.conf" serve-cloudstack \
    --socket "$sock" "$@" </dev/null >>"$STACK_DIR/cs-$name.log" 2>&1 &
  echo $! > "$STACK_DIR/cs-$name.pid"
  while [ ! -S "$sock" ] && [ $n -gt 0 ]; do
    kill -0 "$(cat "$STACK_DIR/cs-$name.pid")" 2>/dev/null \
      || { cat "$STACK_DIR/cs-$name.log" >&2; return 1; }
    sleep 0.1
    n=$((n - 1))
  done
  [ -S "$sock" ] || { cat "$STACK_DIR/cs-$name.log" >&2; return 1; }
}
cs_stop () {   # SOCKET: SIGTERM, bounded wait; the exit status is returned
  local name pid rc=0
  name=$(basename "$1" .sock)
  pid=$(cat "$STACK_DIR/cs-$name.pid" 2>/dev/null) || return 0
  rm -f "$STACK_DIR/cs-$name.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  _stack_wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
}

# One request as the agent sends it: connect, one line, read to EOF.
# The answer (without its newline) in $answer; fails unless the answer
# was exactly one line.  The JSON may be written over several lines
# here; it is sent as one.
cs_send_raw () {   # SOCKET BYTES (sent as they are)
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode())
    if not sys.argv[2].endswith("\n"):
        s.shutdown(socket.SHUT_WR)  # the end of the request is the EOF
except (BrokenPipeError, ConnectionResetError):
    pass  # answered and closed before all was sent: read the answer
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
PY
}
cs () {   # JSON-LINE [SOCKET]
  local raw
  raw=$(cs_send_raw "${2:-$CS_SOCK}" "${1//$'\n'/ }"$'\n'; echo x) || return 1
  raw=${raw%x}
  [[ $raw == *$'\n' && ${raw%$'\n'} != *$'\n'* ]] \
    || fail "not one line: '$raw'"
  answer=${raw%$'\n'}
}
expect_answer () { expect_eq "$answer" "$1" "answer"; }
expect_cs_error () {   # SUBSTRING of the message
  jq -e --arg m "$1" '(keys == ["message", "status"]) and .status == "error"
    and (.message | contains($m))' <<<"$answer" >/dev/null \
    || fail "expected an error with '$1', got: $answer"
}

setup_file () {
  stack_start --workers 2
  image_random "$IMAGES/a.img" 1M
  CS_SOCK=$STACK_DIR/cloudstack.sock
  export CS_SOCK
  cs_start "$CS_SOCK" --timeout 5
}
teardown_file () {
  cs_stop "$STACK_DIR/cloudstack.sock" || :
  cs_stop "$STACK_DIR/second.sock" || :
  nbd_stop_all
  stack_stop
}

@test "status: ok and the number of transfers that accept requests" {
  cs '{"action": "status"}'
  expect_answer '{"status":"ok","active_transfers":0}'
  # Expired, invalid and cancelled ones are not active.
  transfer_put old "{\"path\": \"$IMAGES/a.img\", \"expires\": 1}"
  transfer_put broken '{"path": "relative"}'
  cs '{"action": "status"}'
  expect_answer '{"status":"ok","active_transfers":0}'
  transfer_rm old
  transfer_rm broken
}

@test "register a file transfer: served on /images, byte for byte" {
  cs "{\"action\": \"register\", \"transfer_id\": \"f1\",
       \"config\": {\"backend\": \"file\", \"file\": \"$IMAGES/a.img\"}}"
  expect_answer '{"status":"ok","active_transfers":1}'
  jq -e --arg f "$IMAGES/a.img" '.file == $f and .backend == "file"' \
    "$SPOOL/f1.json"
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ]
  http "$BASE_URL/images/f1"
  expect_status 200
  expect_body_is "$IMAGES/a.img"
  head -c 4096 /dev/urandom > "$BATS_TEST_TMPDIR/piece"
  http -X PUT -H 'Content-Range: bytes 8192-12287/*' \
    --data-binary @"$BATS_TEST_TMPDIR/piece" "$BASE_URL/images/f1"
  expect_status 200
  cmp "$BATS_TEST_TMPDIR/piece" <(extract "$IMAGES/a.img" 8192 4096)
  # Registering the same id again replaces it: read_only now.
  cs "{\"action\": \"register\", \"transfer_id\": \"f1\",
       \"config\": {\"backend\": \"file\", \"file\": \"$IMAGES/a.img\",
                    \"read_only\": true}}"
  expect_answer '{"status":"ok","active_transfers":1}'
  http -X PUT --data-binary @"$BATS_TEST_TMPDIR/piece" "$BASE_URL/images/f1"
  expect_error 403
  http -r 0-9 "$BASE_URL/images/f1"
  expect_status 206
}

@test "register an NBD transfer: nbd when backend is absent, as CloudStack" {
  nbd_require nbdkit nbdinfo
  nbd_kit mem memory 2M
  cs "{\"action\": \"register\", \"transfer_id\": \"n1\",
       \"config\": {\"socket\": \"$(nbd_sock mem)\", \"export\": \"\",
                    \"idle_timeout_seconds\": 600}}"
  expect_answer '{"status":"ok","active_transfers":2}'
  head -c 65536 /dev/urandom > "$BATS_TEST_TMPDIR/piece"
  http -X PUT -H 'Content-Range: bytes 65536-131071/*' \
    --data-binary @"$BATS_TEST_TMPDIR/piece" "$BASE_URL/images/n1"
  expect_status 200
  http -r 65536-131071 "$BASE_URL/images/n1"
  expect_status 206
  expect_header Content-Range "bytes 65536-131071/2097152"
  expect_body_is "$BATS_TEST_TMPDIR/piece"
  run -0 ctl show n1 --json
  jq -e '.backend == "nbd" and .inactivity_timeout == 600
         and .bytes_written == 65536' <<<"$output"
  # The dirty bitmap field is taken too (CloudStack's incremental backups).
  cs "{\"action\": \"register\", \"transfer_id\": \"n2\",
       \"config\": {\"backend\": \"nbd\", \"socket\": \"$(nbd_sock mem)\",
                    \"export\": \"\", \"export_bitmap\": \"bitmap0\"}}"
  expect_answer '{"status":"ok","active_transfers":3}'
  jq -e '.export_bitmap == "bitmap0"' "$SPOOL/n2.json"
}

@test "unregister cancels: 403 on /images; unknown ids are ok too" {
  cs "{\"action\": \"register\", \"transfer_id\": \"u1\",
       \"config\": {\"backend\": \"file\", \"file\": \"$IMAGES/a.img\"}}"
  [[ $answer == '{"status":"ok","active_transfers":'* ]]
  before=$(jq .active_transfers <<<"$answer")
  http -r 0-0 "$BASE_URL/images/u1"
  expect_status 206
  cs '{"action": "unregister", "transfer_id": "u1"}'
  expect_answer "{\"status\":\"ok\",\"active_transfers\":$((before - 1))}"
  [ ! -e "$SPOOL/u1.json" ]
  http -r 0-0 "$BASE_URL/images/u1"
  expect_error 403
  run -0 ctl show u1 --json
  jq -e '.state == "cancelled"' <<<"$output"
  cs '{"action": "unregister", "transfer_id": "u1"}'
  expect_answer "{\"status\":\"ok\",\"active_transfers\":$((before - 1))}"
  cs '{"action": "unregister", "transfer_id": "never-registered"}'
  expect_answer "{\"status\":\"ok\",\"active_transfers\":$((before - 1))}"
}

@test "bad requests: a clear error each, nothing written, still serving" {
  ls "$SPOOL" > "$BATS_TEST_TMPDIR/before"
  cs '{"action": "register", "transfer_id": "b1"'
  expect_cs_error "malformed JSON"
  cs 'not json'
  expect_cs_error "malformed JSON"
  cs '{"action": "status"} trailing'
  expect_cs_error "malformed JSON"
  cs '["status"]'
  expect_cs_error "expected a JSON object"
  cs '{"action": "frobnicate"}'
  expect_answer '{"status":"error","message":"unknown action: frobnicate"}'
  cs '{"transfer_id": "b1"}'
  expect_answer '{"status":"error","message":"unknown action: (none)"}'
  cs '{"action": "register", "config": {"backend": "file", "file": "/x"}}'
  expect_answer '{"status":"error","message":"missing transfer_id"}'
  cs '{"action": "unregister"}'
  expect_answer '{"status":"error","message":"missing transfer_id"}'
  cs '{"action": "register", "transfer_id": "b1"}'
  expect_answer '{"status":"error","message":"missing config"}'
  cs '{"action": "register", "transfer_id": "b1", "config": "file=/x"}'
  expect_answer '{"status":"error","message":"config: expected an object"}'
  cs '{"action": "register", "transfer_id": "../etc/passwd",
       "config": {"backend": "file", "file": "/x"}}'
  expect_cs_error 'invalid transfer_id "../etc/passwd"'
  cs '{"action": "register", "transfer_id": 7, "config": {}}'
  expect_cs_error "transfer_id: expected a string"
  cs '{"action": "register", "transfer_id": "b1",
       "config": {"backend": "file", "file": "relative.img"}}'
  expect_cs_error "invalid config: "
  cs '{"action": "register", "transfer_id": "b1",
       "config": {"backend": "file", "file": "/x", "read_onyl": true}}'
  expect_cs_error 'did you mean "read_only"'
  # A file without backend is an NBD config lacking its socket: said so.
  cs "{\"action\": \"register\", \"transfer_id\": \"b1\",
       \"config\": {\"file\": \"$IMAGES/a.img\"}}"
  expect_cs_error 'without "backend" the backend is nbd'
  ls "$SPOOL" > "$BATS_TEST_TMPDIR/after"
  cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ]
  cs '{"action": "status"}'
  [[ $answer == '{"status":"ok","active_transfers":'* ]]
}

@test "a line over 64 KiB is refused; a line without newline at EOF is taken" {
  run -0 cs_send_raw "$CS_SOCK" "$(head -c 70000 /dev/zero | tr '\0' ' ')"
  jq -e '.status == "error" and (.message | contains("too long"))' \
    <<<"$output"
  # The agent may close its side instead of sending a newline.
  run -0 cs_send_raw "$CS_SOCK" '{"action": "status"}'
  [[ $output == '{"status":"ok","active_transfers":'*$'}' ]]
  cs '{"action": "status"}'
  [[ $answer == '{"status":"ok",'* ]]
}

@test "a silent client is dropped after --timeout; others are not kept waiting" {
  python3 - "$CS_SOCK" > "$BATS_TEST_TMPDIR/silent" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
t = time.monotonic()
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print("%.1f %s" % (time.monotonic() - t, data.decode().strip()))
PY
  silent=$!
  sleep 0.3
  for i in 1 2 3; do
    cs '{"action": "status"}'
    [[ $answer == '{"status":"ok",'* ]]
  done
  # Not kept waiting: all three were answered while the silent client
  # still held its connection (an order, not a time, so load cannot
  # fail it).
  kill -0 "$silent" || fail "the silent client was dropped before the others were answered"
  wait "$silent"
  read -r took reply < "$BATS_TEST_TMPDIR/silent"
  echo "silent client dropped after ${took}s: $reply" >&2
  jq -e '.status == "error" and (.message | contains("timed out"))' \
    <<<"$reply"
  awk -v t="$took" 'BEGIN { exit !(t >= 4.5 && t <= 10) }'
  grep -q 'sent no whole request in 5 s, dropped' "$STACK_DIR/cs-cloudstack.log"
}

@test "socket: its mode and group; a live socket or another file is not replaced; SIGTERM removes it" {
  run -0 stat -c %a "$CS_SOCK"
  [ "$output" = 660 ]
  sock=$STACK_DIR/second.sock
  group=$(getent group daemon nogroup | head -n 1 | cut -d: -f1)
  [ -n "$group" ] || skip "no group daemon or nogroup to give the socket"
  cs_start "$sock" --mode 0640 --group "$group"
  run -0 stat -c '%a %G' "$sock"
  [ "$output" = "640 $group" ]
  cs '{"action": "status"}' "$sock"
  [[ $answer == '{"status":"ok",'* ]]
  # A second server on a live socket refuses to start.
  run -1 ctl serve-cloudstack \
    --socket "$sock"
  [[ $output == *"another server is listening there"* ]]
  cs_stop "$sock"
  [ ! -e "$sock" ]
  grep -q 'stopped (signal 15)' "$STACK_DIR/cs-second.log"
  cs_start "$sock"
  pid=$(cat "$STACK_DIR/cs-second.pid")
  kill -HUP "$pid"
  # The process, not its socket, says when it is done: it removes the
  # socket first and may take a while to exit after (a sanitizer's leak
  # check), and a SIGTERM from cs_stop meanwhile would be a second stop.
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || fail "still running 10 s after SIGHUP"
  [ ! -e "$sock" ]
  run -0 cs_stop "$sock"
  grep -q 'stopped (signal 1)' "$STACK_DIR/cs-second.log"
  # Not a socket: left alone.
  echo keep > "$STACK_DIR/plain"
  run -1 ctl serve-cloudstack \
    --socket "$STACK_DIR/plain"
  [[ $output == *"exists and is not a socket"* ]]
  [ "$(cat "$STACK_DIR/plain")" = keep ]
  run -2 ctl serve-cloudstack
  run -2 ctl serve-cloudstack \
    --socket "$sock" --mode 999
  run -2 ctl serve-cloudstack \
    --socket "$sock" --group no-such-group-here
  [ ! -e "$sock" ]
}

@test "a missing spool: the server does not start, and says which key" {
  printf 'spool_dir = %s/nope\nstate_dir = %s\n' "$STACK_DIR" "$STATE" \
    > "$BATS_TEST_TMPDIR/bad.conf"
  run -1 "$CTL" --config "$BATS_TEST_TMPDIR/bad.conf" serve-cloudstack \
    --socket "$STACK_DIR/third.sock"
  [[ $output == *"spool_dir $STACK_DIR/nope: No such file or directory"* ]]
  [ ! -e "$STACK_DIR/third.sock" ]
}
