# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# An NBD server that stalls on purpose (nbdkit's eval plugin whose reads
# from an offset on wait for a file the test creates at the end), and
# the checks of a client leaving while a read waits on it, shared by
# nbd-stalled*.bats, http-stalled.bats and deploy-apache.bats.  Uses the
# stack's STACK_DIR.

MiB=1048576
STALLED_TOOLS=(nbdkit nbdinfo jq)

# stalled_tools: whether what the stalled server and the tests need is
# installed (setup_file starts nothing without; stalled_setup skips each
# test, naming what is missing).
stalled_tools () {
  local t
  for t in "${STALLED_TOOLS[@]}"; do
    command -v "$t" >/dev/null || return 1
  done
}

# For the suite's setup and teardown: CURL_PIDS are the clients a test
# left running.
stalled_setup () {
  nbd_require "${STALLED_TOOLS[@]}"
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
  T=$BATS_TEST_TMPDIR
  CURL_PIDS=
}

stalled_teardown () {
  local pid
  for pid in $CURL_PIDS; do
    kill "$pid" 2>/dev/null || :
  done
  # Let the server's waiting reads end before it is stopped.
  touch "$STACK_DIR/release"
  nbd_stop_all
  rm -f "$STACK_DIR/release" "$STACK_DIR/stalled"
}

# stalled_kit NAME FROM [on_host]: a 64 MiB export of zeroes whose reads
# at offset FROM or beyond create $STACK_DIR/stalled, then wait (at most
# 40 s) for $STACK_DIR/release; transfer NAME (of the gateway's host,
# with on_host) reads it.  Its preferred block size,
# 1 MiB, makes the worker's commands 1 MiB: 32 script runs for a chunk,
# not 512.
stalled_kit () {
  local name=$1 from=$2
  rm -f "$STACK_DIR/release" "$STACK_DIR/stalled"
  # shellcheck disable=SC2016 # $3, $4: the plugin's arguments
  nbd_kit "$name" eval \
    thread_model='echo parallel' \
    get_size="echo $((64 * MiB))" \
    block_size='echo 1 1M 32M' \
    pread='if [ "$4" -ge '"$from"' ]; then
             touch '"$STACK_DIR"'/stalled
             n=0
             while [ ! -e '"$STACK_DIR"'/release ] && [ $n -lt 400 ]; do
               sleep 0.1; n=$((n + 1))
             done
           fi
           dd if=/dev/zero count=$3 iflag=count_bytes status=none'
  ${3:-} transfer_json "$name" --arg s "$(nbd_sock "$name")" \
    '{socket: $s, ops: ["read"]}'
}

# Wait (at most 20 s) until the server sits on a read.
wait_stalled () {
  local n=200
  while [ ! -e "$STACK_DIR/stalled" ] && [ $n -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  [ -e "$STACK_DIR/stalled" ] || fail "no read reached the stalling offset"
}

# wait_bytes FILE N: wait (at most 20 s) until FILE holds N bytes.
wait_bytes () {
  local n=200
  while [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -lt "$2" ] && [ $n -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  [ "$(stat -c %s "$1")" -ge "$2" ] || fail "only $(stat -c %s "$1") bytes of $2 arrived"
}

# stalled_client OUT URL [curl args]: a download of URL into OUT, in the
# background (CURL_PIDS), once the server sits on a read.
stalled_client () {
  local out=$1 url=$2
  shift 2
  curl -sS --max-time 60 -o "$out" "$@" "$url" 2>/dev/null &
  CURL_PIDS=$!
  wait_stalled
}

# client_leaves: the download of stalled_client ends (its process
# killed), and the only worker must be free within 5 s.
client_leaves () {
  kill "$CURL_PIDS"
  wait "$CURL_PIDS" 2>/dev/null || :
  CURL_PIDS=
  expect_worker_free 5 "after the client left"
}

# --- tests each front end runs (nbd-stalled.bats: lighttpd, ------------
# --- nbd-stalled-nginx.bats: nginx, deploy-apache.bats: the last) -------

# A client reads the first chunk whole and leaves while the worker waits
# for the second, which the server sits on: the worker writes nothing,
# so only the web server shutting the FastCGI connection tells it.
check_gone_waiting_for_chunk () {
  stalled_kit waiting $((32 * MiB))
  stalled_client "$T/body" "$BASE_URL/images/waiting"
  # The web server may hold back the chunk's last page.
  wait_bytes "$T/body" $((32 * MiB - 65536))
  client_leaves
  grep -q 'GET waiting: stopped after 33554432 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
  grep -q 'transfer waiting: the NBD server did not answer .* of the client going away: connection closed' \
    "$FCGI_LOG" || fail "the log does not say the connection was given up"
}

# The same for a read of one chunk, made by the request's own thread,
# before any byte of the answer.  With "kept", the read is the second
# request of its connection: lighttpd watches a client for its close
# once the answer has begun or while waiting for a next request, but not
# for a connection's first request, which it read as it accepted the
# connection (docs/design.md).
check_gone_one_chunk () {
  local args=(-r 0-1048575)
  # An OPTIONS first, then (--next) the read on the same connection.
  [ "${1:-}" != kept ] || args=(-X OPTIONS "$BASE_URL/images/*" --next
                                -sS --max-time 60 -o /dev/null "${args[@]}")
  stalled_kit small 0
  stalled_client /dev/null "$BASE_URL/images/small" "${args[@]}"
  client_leaves
  grep -q 'GET small: stopped after 0 bytes: the client went away' \
    "$FCGI_LOG" || fail "the log does not say the client went away"
}

# A client that stays while its NBD server takes 0.5 s for every read
# gets every byte: the worker looks at the FastCGI connection each time
# the server is silent 200 ms, and nothing the web server does to it
# while the client waits may read as the client gone.  The socket is
# open to all: behind Apache the worker runs as www-data.
check_slow_server_client_stays () {
  image_random "$BATS_TEST_TMPDIR/slow.raw" $((4 * MiB))
  nbd_kit slow --filter=delay file "$BATS_TEST_TMPDIR/slow.raw" rdelay=500ms
  chmod a+rw "$(nbd_sock slow)"
  transfer_json slow --arg s "$(nbd_sock slow)" '{socket: $s, ops: ["read"]}'
  http --max-time 60 "$BASE_URL/images/slow"
  expect_status 200
  cmp "$STACK_DIR/body" "$BATS_TEST_TMPDIR/slow.raw"
}
