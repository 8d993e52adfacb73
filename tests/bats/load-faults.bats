#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Load with faults: clients doing verified ranged PUT + GET on a file
# transfer and an NBD transfer (qemu-nbd) at once, for a fixed time,
# while workers are killed (SIGKILL) and the NBD server is restarted.
# What a client got a 2xx for must be what the image holds; every
# failure is an error status or a cut connection, never a 2xx with
# wrong data; deleting the descriptors ends the transfers, and the
# server serves again after.  The client is tests/bats/load-client.py.
#
# LOAD_SECONDS (default 30) sets the least time under load and the
# faults it must see (LOAD_SECONDS / 2 workers killed, two NBD server
# restarts); on a loaded machine, where faults come more slowly, the load
# goes on until they happened.  On a quiet machine the suite takes about
# LOAD_SECONDS plus 15 s.

# shellcheck disable=SC2154 # top_srcdir comes from make check, body from http
bats_require_minimum_version 1.5.0

load helpers
load nbd-helpers
load expect

LOAD_SECONDS=${LOAD_SECONDS:-30}
LOAD_CLIENTS=4                  # per transfer
SIZE=$((8 * 1024 * 1024))
WORKERS=4

setup () {
  nbd_require qemu-nbd nbdinfo python3 setpriv
  stack_start --workers "$WORKERS"
  image_random "$IMAGES/file.raw" "$SIZE"
  image_random "$STACK_DIR/nbd.raw" "$SIZE"
  nbd_qemu disk -f raw "$STACK_DIR/nbd.raw"
  file_transfer file "$IMAGES/file.raw"
  transfer_put nbd "{\"socket\": \"$(nbd_sock disk)\"}"
  FAULTS_PID=""
  HANGUP_PID=""
}

teardown () {
  local pid
  for pid in ${FAULTS_PID:-} ${HANGUP_PID:-}; do
    kill "$pid" 2>/dev/null || :
    wait "$pid" 2>/dev/null || :
  done
  nbd_stop_all
  [ -z "${STACK_DIR:-}" ] || stack_stop
}

# Faults for at least $1 seconds and until $2 workers were killed and
# the NBD server restarted twice, however slow a loaded machine makes
# each of them; then creates $3, which ends the load.  Every 0.5-1 s a
# random worker gets SIGKILL (the supervisor forks another), and every
# fifth time the NBD server is stopped, left down a moment, and started
# again on the same socket.  Faults that keep failing end it after
# 2 x $2 + 10 tries (the test then fails on the counts).  One line per
# fault in $STACK_DIR/faults.log.
inject_faults () {
  local start=$SECONDS want=$2 done_file=$3 n=0 kills=0 restarts=0 pid
  local end=$((start + $1))
  while [ $SECONDS -lt $end ] ||
    { { [ $kills -lt "$want" ] || [ $restarts -lt 2 ]; } &&
      [ $n -lt $((2 * want + 10)) ]; }; do
    sleep "0.$((5 + RANDOM % 5))"
    pid=$(fcgi_worker_pids 2>/dev/null | shuf -n 1)
    if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
      echo "worker $pid killed"
      kills=$((kills + 1))
    fi
    n=$((n + 1))
    if [ $((n % 5)) -eq 0 ]; then
      nbd_stop disk
      sleep 0.3
      if nbd_qemu disk -f raw "$STACK_DIR/nbd.raw"; then
        echo "nbd server restarted"
        restarts=$((restarts + 1))
      else
        echo "nbd server did not restart"
      fi
    fi
  done >>"$STACK_DIR/faults.log" 2>&1
  echo "$n tries, $kills kills, $restarts restarts in $((SECONDS - start)) s" \
    >>"$STACK_DIR/faults.log"
  : >"$done_file"
}

@test "load with killed workers and a restarted NBD server: no 2xx with wrong data, no byte lost" {
  local state=$BATS_TEST_TMPDIR/model rc=0 want_kills=$((LOAD_SECONDS / 2))
  mkdir -p "$state"

  # The load lasts as long as the faults (at most 10 x LOAD_SECONDS).
  inject_faults "$LOAD_SECONDS" "$want_kills" "$state/faults.done" &
  FAULTS_PID=$!
  python3 "$top_srcdir/tests/bats/load-client.py" load --base "$BASE_URL" \
    --state "$state" --seconds "$LOAD_SECONDS" --until "$state/faults.done" \
    --clients "$LOAD_CLIENTS" --transfer "file:$SIZE" --transfer "nbd:$SIZE" \
    >"$state/load.out" 2>&1 || rc=$?
  wait "$FAULTS_PID" || :
  FAULTS_PID=""
  cat "$state/load.out"
  cat "$STACK_DIR/faults.log"
  # Why requests failed, for the log of a failing run.
  grep -a -E ' (error|warning): ' "$FCGI_LOG" | sed 's/^[^ ]* [^ ]* //' |
    sort | uniq -c | sort -rn | head -n 15
  [ "$rc" -eq 0 ] || fail "a client saw wrong data or an unexpected status"

  # The faults happened, and the load went on through them.
  kills=$(grep -c 'killed' "$STACK_DIR/faults.log" || :)
  restarts=$(grep -c 'nbd server restarted' "$STACK_DIR/faults.log" || :)
  [ "$kills" -ge "$want_kills" ] || fail "only $kills workers killed"
  [ "$restarts" -ge 2 ] || fail "the NBD server restarted $restarts times"
  for t in file nbd; do
    ok=$(python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))[sys.argv[2]]
print(s["put_ok"], s["get_ok"], s["known_bytes"])' "$state/summary.json" "$t")
    read -r puts gets known <<<"$ok"
    [ "$puts" -ge 20 ] && [ "$gets" -ge 20 ] ||
      fail "$t: only $puts PUTs and $gets GETs succeeded"
    [ "$known" -gt 0 ] || fail "$t: no byte known"
  done

  # No fault from here: the NBD server runs (started by this shell), the
  # workers are back.
  nbd_stop disk
  nbd_qemu disk -f raw "$STACK_DIR/nbd.raw"

  # The images hold what every client last got a 2xx for.
  run python3 "$top_srcdir/tests/bats/load-client.py" verify --state "$state" \
    --transfer "file:$IMAGES/file.raw" --transfer "nbd:$STACK_DIR/nbd.raw"
  echo "$output"
  [ "$status" -eq 0 ] || fail "bytes differ from what the clients were told"
  [[ $output == *"file: "*", 0 differ"* ]]
  [[ $output == *"nbd: "*", 0 differ"* ]]

  # The server serves again: whole images, byte for byte, through it.
  for t in file nbd; do
    case $t in
      file) image=$IMAGES/file.raw ;;
      nbd) image=$STACK_DIR/nbd.raw ;;
    esac
    http "$BASE_URL/images/$t"
    expect_status 200 "GET $t after the faults"
    expect_body_is "$image"
  done

  # Deleting the descriptors cancels the transfers (403, API.md section
  # 2); other transfers still get served.
  transfer_rm file
  transfer_rm nbd
  for t in file nbd; do
    http "$BASE_URL/images/$t"
    expect_error 403 "GET $t after its descriptor was deleted"
    http -T "$IMAGES/file.raw" "$BASE_URL/images/$t"
    expect_error 403 "PUT $t after its descriptor was deleted"
  done
  file_transfer again "$IMAGES/file.raw"
  http -H 'Range: bytes=4096-8191' "$BASE_URL/images/again"
  expect_status 206
  extract "$IMAGES/file.raw" 4096 4096 >"$BATS_TEST_TMPDIR/expected"
  expect_body_is "$BATS_TEST_TMPDIR/expected"
}

# A listener on $1 that hangs up on every client, as qemu-nbd does when it
# is stopped while a worker connects: at once (mode close), or in the
# middle of the negotiation (mode go): it greets, turns down every option
# (NBD_REP_ERR_UNSUP) and hangs up on NBD_OPT_GO.  Sets HANGUP_PID.
hangup_server () {
  python3 -c '
import socket, struct, sys

def read(c, n):
    data = b""
    while len(data) < n:
        piece = c.recv(n - len(data))
        if not piece:
            raise OSError("client left")
        data += piece
    return data

s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    try:
        if sys.argv[2] == "go":
            c.sendall(b"NBDMAGIC" + b"IHAVEOPT" + struct.pack(">H", 3))
            read(c, 4)                              # client flags
            while True:
                _, option, length = struct.unpack(">QII", read(c, 16))
                read(c, length)
                if option == 1 or option == 7:      # EXPORT_NAME, GO
                    break
                c.sendall(struct.pack(">QIII", 0x3e889045565a9, option,
                                      0x80000001, 0))
    except OSError:
        pass
    c.close()
' "$1" "$2" 3>&- &
  HANGUP_PID=$!
  for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
  fail "no listener at $1"
}

@test "an NBD server that hangs up during the handshake is down (503), not an internal error" {
  local sock=$STACK_DIR/hangup.sock mode req
  for mode in close go; do
    rm -f "$sock"
    hangup_server "$sock" "$mode"
    transfer_put hangup "{\"socket\": \"$sock\"}"
    for req in "" "-H Range:bytes=0-99" "-X OPTIONS"; do
      # shellcheck disable=SC2086
      http $req "$BASE_URL/images/hangup"
      expect_error 503 "$mode: GET $req"
      [[ $body == *"$sock"* ]] || fail "the error does not name $sock: $body"
    done
    http -T "$IMAGES/file.raw" "$BASE_URL/images/hangup"
    expect_error 503 "$mode: PUT"
    kill "$HANGUP_PID"
    wait "$HANGUP_PID" 2>/dev/null || :
    HANGUP_PID=""
  done
}
