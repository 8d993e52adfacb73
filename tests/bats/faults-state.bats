#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The shared state file (state_dir/stats) can never take the server
# down: truncated, deleted or overwritten with random bytes while
# requests run, every request is still answered byte-exact, no process
# dies, the table is mapped again (rebuilt when need be), a worker killed
# afterwards is not left in flight, warnings are rate-limited, and what
# the API serves from the file is valid UTF-8 JSON.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup () {
  T=$BATS_TEST_TMPDIR
  stack_start --workers 2
  image_random "$IMAGES/good.raw" 4M
  file_transfer good "$IMAGES/good.raw"
  STATS_SIZE=$(stat -c %s "$STATE/stats")
  SUPERVISOR=$(fcgi_supervisor_pid)
  WORKERS=$(fcgi_worker_pids | sort | tr '\n' ' ')
}

teardown () {
  [ -z "${LOAD_PID:-}" ] || { kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; } || :
  [ -z "${STACK_DIR:-}" ] || stack_stop
}

# load_start N: N ranged GETs of 1 MiB in the background, one after the
# other; each status goes to $T/codes, each wrong body to $T/wrong.
load_start () {
  : > "$T/codes"
  : > "$T/wrong"
  (
    for ((i = 0; i < $1; i++)); do
      first=$(( (i % 4) * 1048576 ))
      code=$(curl -s -o "$T/get" -w '%{http_code}' --max-time 20 \
               -H "Range: bytes=$first-$(( first + 1048575 ))" \
               "$BASE_URL/images/good")
      echo "$code" >> "$T/codes"
      extract "$IMAGES/good.raw" "$first" 1048576 | cmp -s - "$T/get" \
        || echo "$i" >> "$T/wrong"
    done
  ) &
  LOAD_PID=$!
}

# load_wait N: every one of the N requests answered 206 with the right
# bytes.
load_wait () {
  wait "$LOAD_PID"
  LOAD_PID=""
  expect_eq "$(grep -c '^206$' "$T/codes")" "$1" \
    "206 answers ($(sort "$T/codes" | uniq -c | tr '\n' ' '))"
  [ ! -s "$T/wrong" ] || fail "wrong bytes in requests $(tr '\n' ' ' < "$T/wrong")"
}

# Neither the supervisor nor a worker died, and /api/v1/daemon says
# stats: true again (the supervisor stamps a rebuilt table) within 5 s.
expect_all_alive_and_stats () {
  expect_eq "$(fcgi_supervisor_pid)" "$SUPERVISOR" "supervisor pid"
  expect_eq "$(fcgi_worker_pids | sort | tr '\n' ' ')" "$WORKERS" "worker pids"
  ! grep -E 'killed by signal|signal 7' "$FCGI_LOG" || fail "a process died"
  wait_api v1/daemon '.stats == true' 50
  expect_eq "$(stat -c %s "$STATE/stats")" "$STATS_SIZE" "state file size"
}

@test "state file truncated under load: every request answered, nothing dies, the table is rebuilt" {
  load_start 120
  sleep 0.5
  truncate -s 0 "$STATE/stats"
  sleep 0.5
  truncate -s 4096 "$STATE/stats"
  sleep 0.5
  truncate -s 0 "$STATE/stats"
  load_wait 120
  expect_all_alive_and_stats
}

@test "state file deleted: rebuilt, stats: true, a worker killed later is not left in flight" {
  rm "$STATE/stats"
  wait_api v1/daemon '.stats == true' 50
  [ -f "$STATE/stats" ] || fail "no state file was built"
  # A download kept slow holds one worker, shown in flight.
  image_sparse "$IMAGES/big.raw" 512M
  file_transfer big "$IMAGES/big.raw"
  curl -sS --limit-rate 1M --max-time 60 -o /dev/null "$BASE_URL/images/big" &
  local cpid=$!
  wait_api v1/metrics/inflight '[.requests[] | select(.transfer_id == "big")] | length == 1'
  local wpid
  wpid=$(jq '.requests[] | select(.transfer_id == "big") | .pid' "$STACK_DIR/body")
  kill -9 "$wpid"
  wait "$cpid" 2>/dev/null || :
  wait_api v1/metrics/inflight '[.requests[] | select(.transfer_id == "big")] | length == 0'
  wait_api v2/transfers/big '.connections == 0'

  http -r 0-9 "$BASE_URL/images/good"
  expect_status 206
}

# expect_inflight_utf8: /api/v1/metrics/inflight is JSON and valid UTF-8.
expect_inflight_utf8 () {
  api v1/metrics/inflight
  expect_status 200
  iconv -f UTF-8 -t UTF-8 "$STACK_DIR/body" > /dev/null \
    || fail "inflight is not valid UTF-8"
  jq -e '.requests | type == "array"' "$STACK_DIR/body" > /dev/null \
    || fail "inflight is not JSON"
  ! LC_ALL=C grep -q "$(printf '[\x01-\x08\x0b\x0c\x0e-\x1f]')" "$STACK_DIR/body" \
    || fail "a raw control character in inflight"
}

# stats_warnings: lines about the state file in the log so far.
stats_warnings () { grep -c 'stats: ' "$FCGI_LOG" || :; }

# expect_warnings_rate_limited BEFORE: of the lines about the state file
# after the first BEFORE, each process (imagexfer[PID]) wrote at most one
# per STATS_WARN_SECONDS (10 s; the limit compares whole seconds of a
# monotonic clock, so two lines of one process are at least 9 s apart),
# plus "transfer table full" once at most.  A count would depend on how
# long the requests took (a loaded machine, a sanitizer build).
expect_warnings_rate_limited () {
  local stamp pid rest t seen=0 close
  declare -A last=() full=()
  while read -r stamp pid rest; do
    seen=$((seen + 1))
    if [[ $rest == *"transfer table full"* ]]; then
      [ -z "${full[$pid]:-}" ] || fail "imagexfer[$pid]: \"table full\" twice"
      full[$pid]=1
      continue
    fi
    t=$(date -d "$stamp" +%s.%N)
    if [ -n "${last[$pid]:-}" ]; then
      close=$(awk -v a="${last[$pid]}" -v b="$t" 'BEGIN { print (b - a < 9) }')
      [ "$close" = 0 ] \
        || fail "imagexfer[$pid]: state file warnings at ${last[$pid]} and $t, less than 9 s apart"
    fi
    last[$pid]=$t
  done < <(grep 'stats: ' "$FCGI_LOG" | tail -n +"$(( $1 + 1 ))" \
             | sed -n 's/^\([^ ]*\) imagexfer\[\([0-9]*\)\] \(.*\)/\1 \2 \3/p')
  (( seen >= 1 )) || fail "no warning about the state file"
}

@test "state file overwritten with random bytes: a few warnings, requests answered, valid UTF-8 JSON" {
  local before
  before=$(stats_warnings)
  head -c "$STATS_SIZE" /dev/urandom > "$STATE/stats"
  load_start 100
  load_wait 100
  expect_warnings_rate_limited "$before"
  expect_inflight_utf8
  expect_all_alive_and_stats
}

@test "random bytes behind a valid header: valid UTF-8 JSON, warnings rate-limited" {
  local before
  # The header (the first page) stays; slots, transfers and events become
  # noise with high bits and control characters.
  dd if=/dev/urandom of="$STATE/stats" bs=4096 seek=1 \
     count=$(( STATS_SIZE / 4096 - 1 )) conv=notrunc status=none
  before=$(stats_warnings)
  load_start 100
  load_wait 100
  expect_warnings_rate_limited "$before"
  expect_inflight_utf8
  api v1/daemon/events
  expect_status 200
  iconv -f UTF-8 -t UTF-8 "$STACK_DIR/body" > /dev/null || fail "events not UTF-8"
  api v2/transfers
  expect_status 200
  iconv -f UTF-8 -t UTF-8 "$STACK_DIR/body" > /dev/null || fail "transfers not UTF-8"
  expect_eq "$(fcgi_supervisor_pid)" "$SUPERVISOR" "supervisor pid"
}
