#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Logging: the client's address and the transfer id in every access
# line, journald priorities when stderr is the journal, and log_file
# reopened on SIGUSR1 by the supervisor and every worker.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup () {
  TMP=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/logging.XXXXXX")
}
teardown () {
  stack_stop
  [ -z "${DAEMON_PID:-}" ] || { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; }
  rm -rf "$TMP"
}

# Wait (bounded) until FILE has a line matching the extended regex.
wait_for_line () {
  local n=100
  while [ $n -gt 0 ]; do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    n=$((n - 1))
  done
  fail "no line /$2/ in $1: $(cat "$1" 2>/dev/null)"
}

@test "access lines name the transfer and the client's address" {
  stack_start --workers 2
  image_random "$IMAGES/a.img" 64K
  transfer_put logged "{\"path\": \"$IMAGES/a.img\", \"ops\": [\"read\"]}"
  http "$BASE_URL/images/logged"
  expect_status 200
  http -T "$IMAGES/a.img" "$BASE_URL/images/logged"
  expect_status 403
  wait_for_line "$FCGI_LOG" " info: GET logged range=- in=0 out=65536 status=200 [0-9.]+s client=127\.0\.0\.1$"
  wait_for_line "$FCGI_LOG" " info: PUT logged range=- in=0 out=[0-9]+ status=403 [0-9.]+s client=127\.0\.0\.1$"
  transfer_put logged "{\"path\": \"$IMAGES/a.img\", \"expires\": \"2000-01-01T00:00:00Z\"}"
  http "$BASE_URL/images/logged"
  expect_status 403
  wait_for_line "$FCGI_LOG" " info: GET logged: refused, transfer expired client=127\.0\.0\.1$"
}

# Run the daemon with stderr to FILE and JOURNAL_STREAM set to STREAM.
start_daemon () {
  local file=$1 stream=$2
  mkdir -p "$TMP/spool" "$TMP/state"
  printf '%s\n' "spool_dir = $TMP/spool" "state_dir = $TMP/state" \
    "workers = 1" "log_level = debug" "no_such_key = 1" > "$TMP/imagexfer.conf"
  JOURNAL_STREAM=$stream "$IMAGEXFER_FCGI" --config "$TMP/imagexfer.conf" \
    --listen "$TMP/fcgi.sock" </dev/null 2>>"$file" &
  DAEMON_PID=$!
  wait_for_line "$file" "supervisor: serving"
}

@test "journald: priority prefixes only when stderr is the journal's stream" {
  : > "$TMP/journal"
  start_daemon "$TMP/journal" "$(stat -c '%d:%i' "$TMP/journal")"
  wait_for_line "$TMP/journal" "worker started"
  # Another reload, with a broken config this time: an error line.
  echo "workers = many" >> "$TMP/imagexfer.conf"
  kill -HUP "$DAEMON_PID"
  wait_for_line "$TMP/journal" "reload failed"
  grep -q "^<4>imagexfer\[$DAEMON_PID\] warning: $TMP/imagexfer.conf:5: ignoring unknown key \"no_such_key\"$" "$TMP/journal"
  grep -q "^<6>imagexfer\[$DAEMON_PID\] info: supervisor: serving with 1 workers" "$TMP/journal"
  grep -Eq "^<7>imagexfer\[[0-9]+\] debug: worker started$" "$TMP/journal"
  grep -q "^<3>imagexfer\[$DAEMON_PID\] error: supervisor: reload failed" "$TMP/journal"
  # Every line has a prefix and no time stamp (the journal adds one).
  ! grep -v '^<[3467]>imagexfer\[' "$TMP/journal" || fail "a line without a prefix"
  kill "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=""

  # JOURNAL_STREAM naming another file: plain lines with time stamps.
  : > "$TMP/plain"
  start_daemon "$TMP/plain" "$(stat -c '%d:%i' "$TMP/journal")"
  grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z imagexfer\[$DAEMON_PID\] info: supervisor: serving" "$TMP/plain"
  ! grep -q '^<' "$TMP/plain" || fail "a prefix on a stream that is not the journal"
}

@test "what a client sends cannot forge a log line or a journal priority" {
  : > "$TMP/journal"
  start_daemon "$TMP/journal" "$(stat -c '%d:%i' "$TMP/journal")"
  # /api refused (no administrator's mark) logs the decoded path; an
  # /images request logs its Range header as sent.
  python3 "$top_srcdir/tests/bats/fastcgi-request.py" "$TMP/fcgi.sock" \
    GET '/api/x%0a<0>forged%09tab' > /dev/null
  python3 "$top_srcdir/tests/bats/fastcgi-request.py" "$TMP/fcgi.sock" \
    GET /images/none $'HTTP_RANGE=bytes=0-1\n<0>forged too' > /dev/null
  wait_for_line "$TMP/journal" 'refused'
  wait_for_line "$TMP/journal" 'GET none'
  grep -qF 'GET /api/x\x0a<0>forged\x09tab from' "$TMP/journal" \
    || fail "no escaped path: $(cat "$TMP/journal")"
  grep -qF 'range=bytes=0-1\x0a<0>forged too' "$TMP/journal" \
    || fail "no escaped Range: $(cat "$TMP/journal")"
  ! grep -v '^<[3467]>imagexfer\[' "$TMP/journal" || fail "a forged line"
}

@test "log_file: every process opens it again on SIGUSR1 (logrotate)" {
  log=$TMP/log/imagexfer.log
  mkdir -p "$TMP/log"
  stack_start --mode daemon --workers 3 --conf-extra "log_file = $log"
  image_random "$IMAGES/a.img" 4K
  transfer_put rot "{\"path\": \"$IMAGES/a.img\", \"ops\": [\"read\"]}"
  for i in 1 2 3 4 5 6; do
    http "$BASE_URL/images/rot?n=$i"
    expect_status 200
  done
  wait_for_line "$log" "GET rot .*client=127\.0\.0\.1$"
  [ "$(stat -c %a "$log")" = 640 ] || fail "log_file mode $(stat -c %a "$log")"
  # What went to the file is not on stderr.
  ! grep -q "GET rot" "$FCGI_LOG" || fail "access lines still on stderr"

  mv "$log" "$log.1"
  kill -USR1 "$(fcgi_supervisor_pid)"
  before=$(grep -c "GET rot" "$log.1")
  # Every worker must have switched: as many requests as workers and
  # more, any of them may answer.
  for i in $(seq 9); do
    http "$BASE_URL/images/rot?after=$i"
    expect_status 200
  done
  wait_for_line "$log" "GET rot "
  for _ in $(seq 50); do
    [ "$(grep -c "GET rot" "$log")" -ge 9 ] && break
    sleep 0.1
  done
  expect_eq "$(grep -c "GET rot" "$log")" 9 "access lines in the new file"
  expect_eq "$(grep -c "GET rot" "$log.1")" "$before" "access lines in the rotated file"
  # The workers are the same ones: a reopen is not a restart.
  expect_eq "$(fcgi_worker_pids | wc -l)" 3 "workers"
}

@test "log_file: a file that cannot be opened stops the start with its name" {
  mkdir -p "$TMP/spool" "$TMP/state"
  printf '%s\n' "spool_dir = $TMP/spool" "state_dir = $TMP/state" \
    "log_file = $TMP/no/such/dir/imagexfer.log" > "$TMP/imagexfer.conf"
  run -1 "$IMAGEXFER_FCGI" --config "$TMP/imagexfer.conf" --listen "$TMP/fcgi.sock"
  expect_eq "$output" "imagexfer-fcgi: cannot open log_file $TMP/no/such/dir/imagexfer.log: No such file or directory"
  [ ! -e "$TMP/fcgi.sock" ] || fail "it listened anyway"
}

@test "logrotate: the shipped snippet rotates log_file and the daemon follows" {
  command -v logrotate >/dev/null || skip "logrotate not installed (deploy/install-deps installs it)"
  mkdir -p "$TMP/log"
  chmod 0750 "$TMP/log"
  log=$TMP/log/imagexfer.log
  stack_start --mode daemon --workers 2 --conf-extra "log_file = $log"
  image_random "$IMAGES/a.img" 4K
  transfer_put rot "{\"path\": \"$IMAGES/a.img\", \"ops\": [\"read\"]}"
  http "$BASE_URL/images/rot?before"
  expect_status 200
  wait_for_line "$log" "GET rot "

  # The installed file, with this stack's log directory, pid file and user.
  logdir=$(build_make_var localstatedir)/log/imagexfer
  piddir=$(build_make_var runstatedir)/imagexfer
  sed -e "s|^$logdir/|$TMP/log/|" \
      -e "s|pidfile=$piddir/imagexfer.pid|pidfile=$STACK_DIR/fcgi.pid|" \
      -e "s|su imagexfer imagexfer|su $(id -un) $(id -gn)|" \
      "$top_builddir/deploy/logrotate.d/imagexfer" > "$TMP/logrotate.conf"
  grep -q "^$TMP/log/\*.log {" "$TMP/logrotate.conf" || fail "no log path in $(cat "$TMP/logrotate.conf")"
  grep -q "pidfile=$STACK_DIR/fcgi.pid" "$TMP/logrotate.conf" || fail "no pid file in $(cat "$TMP/logrotate.conf")"
  run -0 logrotate --force --state "$TMP/logrotate.state" "$TMP/logrotate.conf"

  [ -s "$log.1" ] || fail "not rotated: $(ls -l "$TMP/log")"
  for i in 1 2 3 4; do
    http "$BASE_URL/images/rot?after=$i"
    expect_status 200
  done
  for _ in $(seq 50); do
    [ "$(grep -c "GET rot " "$log" 2>/dev/null)" -ge 4 ] && break
    sleep 0.1
  done
  expect_eq "$(grep -c "GET rot " "$log")" 4 "access lines after the rotation"
  expect_eq "$(grep -c "GET rot " "$log.1")" 1 "access lines before it"
}
