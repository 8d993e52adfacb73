#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The supervisor killed (SIGKILL).  Spawned by lighttpd, a worker takes
# over as supervisor on the same socket, so requests keep being answered
# (lighttpd 1.4 would never restart a backend that a request found gone,
# fcgi/takeover.h), and the whole backend still leaves with lighttpd.
# As a daemon, the workers leave at once, so that systemd (Restart=)
# starts a clean service.

bats_require_minimum_version 1.5.0

load helpers
load expect

WORKERS=3

setup () {
  T=$BATS_TEST_TMPDIR
  NEW_SUPERVISOR=""
}

teardown () {
  [ -z "${LOAD_PID:-}" ] || { kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; } || :
  [ -z "${STACK_DIR:-}" ] || stack_stop
  # Not lighttpd's child: stack_stop does not know it.
  if [ -n "$NEW_SUPERVISOR" ] && kill -0 "$NEW_SUPERVISOR" 2>/dev/null; then
    # shellcheck disable=SC2046 # a list of pids
    kill -KILL $(pgrep -P "$NEW_SUPERVISOR") "$NEW_SUPERVISOR" 2>/dev/null || :
  fi
}

start () {   # MODE
  stack_start --mode "$1" --workers "$WORKERS"
  image_random "$IMAGES/good.raw" 1M
  file_transfer good "$IMAGES/good.raw"
}

# Whole GETs of the good transfer, one every 0.05 s for SECONDS; each
# status to $T/codes, each wrong body to $T/wrong.
load_start () {   # SECONDS
  : > "$T/codes"
  : > "$T/wrong"
  (
    end=$((SECONDS + $1))
    i=0
    while (( SECONDS < end )); do
      i=$((i + 1))
      curl -s -o "$T/get" -w '%{http_code}\n' --max-time 10 \
        "$BASE_URL/images/good" >> "$T/codes"
      cmp -s "$T/get" "$IMAGES/good.raw" || echo "$i" >> "$T/wrong"
      sleep 0.05
    done
  ) &
  LOAD_PID=$!
}

wait_gone () {   # WHAT PID...: all gone within 5 s
  local what=$1 n=50 p alive
  shift
  while (( n-- > 0 )); do
    alive=""
    for p in "$@"; do
      kill -0 "$p" 2>/dev/null && alive="$alive $p"
    done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  fail "$what still running:$alive"
}

@test "spawned: the supervisor killed under load: a worker takes over, no request fails, all leave with lighttpd" {
  start spawned
  local sup old lock
  sup=$(fcgi_supervisor_pid)
  old=$(fcgi_worker_pids | tr '\n' ' ')
  # The lock that makes one supervisor per socket: a file in state_dir
  # (no other account can make one there), held.
  lock=$(echo "$STATE"/supervisor-*.lock)
  [ -f "$lock" ] || fail "no lock file in $STATE: $(ls "$STATE")"
  expect_eq "$(stat -c %a "$lock")" 600 "lock file mode"
  ! flock -n "$lock" true || fail "nobody holds $lock"
  load_start 4
  sleep 1
  kill -KILL "$sup"
  wait "$LOAD_PID"
  LOAD_PID=""
  [ -s "$T/codes" ] || fail "no request was made"
  expect_eq "$(sort -u "$T/codes" | tr '\n' ' ')" "200 " \
    "statuses ($(sort "$T/codes" | uniq -c | tr '\n' ' '))"
  [ ! -s "$T/wrong" ] || fail "wrong bytes in requests $(tr '\n' ' ' < "$T/wrong")"

  # One of the old workers is the supervisor now, with a full set of
  # workers; the other old workers have left.
  wait_api v1/daemon ".pid != $sup" 50
  NEW_SUPERVISOR=$(jq .pid "$STACK_DIR/body")
  [[ " $old " == *" $NEW_SUPERVISOR "* ]] || fail "new supervisor $NEW_SUPERVISOR is not one of the workers [$old]"
  local p n=50
  while (( n-- > 0 )) && [ "$(pgrep -P "$NEW_SUPERVISOR" | wc -l)" -ne "$WORKERS" ]; do
    sleep 0.1
  done
  expect_eq "$(pgrep -P "$NEW_SUPERVISOR" | wc -l)" "$WORKERS" "workers of the new supervisor"
  for p in $old; do
    [ "$p" = "$NEW_SUPERVISOR" ] || wait_gone "old worker" "$p"
  done
  expect_eq "$(grep -c 'taking over as supervisor' "$FCGI_LOG")" 1 "takeovers"
  ! flock -n "$lock" true || fail "the new supervisor does not hold $lock"
  api v1/daemon
  expect_json '.stats == true'
  request_ok=$(curl -s -o "$T/get" -w '%{http_code}' "$BASE_URL/images/good")
  expect_eq "$request_ok" 200 "GET after the takeover"
  cmp "$T/get" "$IMAGES/good.raw"

  # lighttpd gone, the backend it no longer knows leaves too.
  local workers
  workers=$(pgrep -P "$NEW_SUPERVISOR" | tr '\n' ' ')
  kill "$LIGHTTPD_PID"
  wait "$LIGHTTPD_PID" 2>/dev/null || :
  LIGHTTPD_PID=""
  # shellcheck disable=SC2086 # a list of pids
  wait_gone "the backend after lighttpd exited" "$NEW_SUPERVISOR" $workers
}

@test "daemon: the supervisor killed: its workers leave at once, for systemd to restart the service" {
  start daemon
  local sup workers
  sup=$(fcgi_supervisor_pid)
  workers=$(fcgi_worker_pids | tr '\n' ' ')
  kill -KILL "$sup"
  # shellcheck disable=SC2086 # a list of pids
  wait_gone "workers of the killed daemon" $workers
  ! grep -q 'taking over' "$FCGI_LOG" || fail "a daemon's worker took over"
}
