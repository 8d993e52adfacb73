#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The management API (API.md section 3) through the real stack: daemon
# info, counters, distinct bytes, transfers in flight, lifecycle
# timeouts, re-created transfers, cancel, odd files in the spool,
# worker crashes, Prometheus output, access restricted to localhost.

bats_require_minimum_version 1.5.0

load helpers
load expect

expect_api_error () {   # STATUS CODE
  expect_status "$1"
  expect_eq "$(header Content-Type)" application/json "Content-Type"
  expect_json --arg c "$2" '(keys == ["code", "message"]) and .code == $c
                           and (.message | length > 0)'
}
# A download running in the background at a limited rate.
slow_get () {   # ID RATE OUTFILE
  curl -sS --limit-rate "$2" -o "$3" "$BASE_URL/images/$1" &
  echo $! > "$3.pid"
}
# Stop it (it may have ended already: a killed worker ends the download).
stop_bg () {
  local p
  p=$(cat "$1.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null || :
  wait "$p" 2>/dev/null || :
}

setup_file () {
  # Eight parallel PUTs on one transfer: above the default cap (one
  # less than the workers), which would answer some of them 503.
  stack_start --workers 4 --conf-extra "chunk_size = 64K" \
    --conf-extra "image_roots = @IMAGES@" --conf-extra "max_writers = 8"
  image_random "$IMAGES/big.img" 24M
  image_random "$IMAGES/small.img" 1M
}
teardown_file () { stack_stop; }

@test "GET /api/v1/daemon: version, supervisor pid, workers, paths" {
  api v1/daemon
  expect_status 200
  expect_json --arg s "$SPOOL" --arg t "$STATE" \
    '.version == "0.1.0" and .workers == 4 and .spool_dir == $s
     and .state_dir == $t and .backends == ["file", "nbd", "http"]
     and (.features | index("prometheus")) != null
     and .uptime >= 0 and .start_time > 1600000000'
  expect_json --argjson p "$(fcgi_supervisor_pid)" '.pid == $p'
}

@test "/api never answers with CORS headers; /images does for an Origin" {
  # A web page must not be able to read or drive the management API.
  api v1/daemon -H 'Origin: http://example.com'
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
  api v2/transfers/x -X OPTIONS -H 'Origin: http://example.com' \
    -H 'Access-Control-Request-Method: PUT'
  expect_no_header Access-Control-Allow-Origin
  expect_no_header Access-Control-Allow-Methods
  http -X OPTIONS -H 'Origin: http://example.com' "$BASE_URL/images/*"
  expect_status 200
  expect_header Access-Control-Allow-Origin '*'
}

@test "no route: 404 NOT_FOUND; wrong method: 405 UNSUPPORTED with Allow" {
  api v1/nothing
  expect_api_error 404 NOT_FOUND
  api v3/transfers
  expect_api_error 404 NOT_FOUND
  api v2/transfers/a/b
  expect_api_error 404 NOT_FOUND
  api v1/daemon -X DELETE
  expect_api_error 405 UNSUPPORTED
  expect_eq "$(header Allow)" "GET" Allow
  api v2/transfers/x -X POST -d '{}'
  expect_api_error 405 UNSUPPORTED
  expect_eq "$(header Allow)" "GET, PUT, DELETE" Allow
  api v2/transfers/.hidden
  expect_api_error 400 BAD_REQUEST
  api "v1/metrics?format=xml"
  expect_api_error 400 BAD_REQUEST
}

@test "counters are exact after round trips" {
  file_transfer rt "$IMAGES/rt.img" '{"size": 1048576}'
  truncate -s 1M "$IMAGES/rt.img"
  api v1/metrics
  before=$(cat "$STACK_DIR/body")
  http -X PUT --data-binary "@$IMAGES/small.img" "$BASE_URL/images/rt"
  expect_status 200
  http "$BASE_URL/images/rt"
  cmp "$IMAGES/small.img" "$STACK_DIR/body"
  http -H "Range: bytes=0-4095" "$BASE_URL/images/rt"
  expect_status 206
  api v2/transfers/rt
  expect_status 200
  expect_json '.state == "ready" and .active == false and .connections == 0
    and .bytes_written == 1048576 and .bytes_read == 1052672
    and .transferred == 1048576 and .transferred_exact == true
    and .requests == 3 and .errors == 0
    and .size == 1048576 and .backend == "file" and .id == "rt"
    and .idle_time >= 0 and .idle_time <= 2 and .expires == null'
  api v1/metrics
  jq -e --argjson b "$before" '
    .requests - $b.requests == 3
    and .bytes_written - $b.bytes_written == 1048576
    and .bytes_read - $b.bytes_read == 1052672
    and .requests_by_method.PUT - $b.requests_by_method.PUT == 1
    and .requests_by_method.GET - $b.requests_by_method.GET == 2
    and .responses_by_status["206"] - ($b.responses_by_status["206"] // 0) == 1
    and .in_flight == 0
    and .latency.count == .requests
    and .latency.buckets[-1].count == .requests' "$STACK_DIR/body" \
    || { show; fail "global counters"; }
  api v1/metrics/backend
  expect_json '.file.bytes_written >= 1048576 and .nbd.requests == 0'
}

put_range () {   # ID FILE OFFSET LENGTH: PUT those bytes of FILE there
  extract "$2" "$3" "$4" > "$BATS_TEST_TMPDIR/piece.$3"
  curl -sS -o /dev/null -w '%{http_code}\n' -X PUT \
    -H "Content-Range: bytes $3-$(($3 + $4 - 1))/*" \
    --data-binary "@$BATS_TEST_TMPDIR/piece.$3" "$BASE_URL/images/$1"
}

@test "transferred: distinct bytes of out-of-order and parallel ranged PUTs" {
  M=1048576
  image_random "$BATS_TEST_TMPDIR/src.img" 8M
  truncate -s 8M "$IMAGES/ooo.img" "$IMAGES/par.img"
  file_transfer ooo "$IMAGES/ooo.img"
  for i in 7 6 5 4 3 2 1 0; do
    run -0 put_range ooo "$BATS_TEST_TMPDIR/src.img" $((i * M)) $M
    expect_eq "$output" 200 "PUT at $i MiB"
  done
  cmp "$BATS_TEST_TMPDIR/src.img" "$IMAGES/ooo.img"
  api v2/transfers/ooo
  expect_json '.bytes_written == 8388608 and .transferred == 8388608
               and .transferred_exact == true'
  # Rewriting a part adds bytes written, not distinct bytes.
  run -0 put_range ooo "$BATS_TEST_TMPDIR/src.img" $((3 * M)) $((2 * M))
  api v2/transfers/ooo
  expect_json '.bytes_written == 10485760 and .transferred == 8388608'

  # All at once, through several workers.
  file_transfer par "$IMAGES/par.img"
  for i in 0 1 2 3 4 5 6 7; do
    put_range par "$BATS_TEST_TMPDIR/src.img" $((i * M)) $M \
      > "$BATS_TEST_TMPDIR/par.$i" &
  done
  wait
  for i in 0 1 2 3 4 5 6 7; do
    expect_eq "$(cat "$BATS_TEST_TMPDIR/par.$i")" 200 "parallel PUT $i"
  done
  cmp "$BATS_TEST_TMPDIR/src.img" "$IMAGES/par.img"
  api v2/transfers/par
  # Exact unless a worker gave up waiting for the lock (then an upper
  # bound, and said so).
  expect_json '.bytes_written == 8388608 and (.transferred == 8388608
    or (.transferred > 8388608 and .transferred_exact == false))'

  # More separate ranges than are kept: approximate, an upper bound.
  for i in $(seq 0 19); do
    run -0 put_range ooo "$BATS_TEST_TMPDIR/src.img" $((i * 65536 + 1)) 1
  done
  api v2/transfers/ooo
  expect_json '.transferred == 8388608 and .transferred_exact == true'
  file_transfer scatter "$IMAGES/par.img"
  for i in $(seq 0 19); do
    run -0 put_range scatter "$BATS_TEST_TMPDIR/src.img" $((i * 65536)) 1
  done
  api v2/transfers/scatter
  expect_json '.bytes_written == 20 and .transferred_exact == false
               and .transferred >= 20 and .transferred <= 19 * 65536 + 1'
}

@test "a slow download is shown in flight; two transfers at once" {
  file_transfer slow1 "$IMAGES/big.img"
  file_transfer slow2 "$IMAGES/big.img"
  slow_get slow1 2M "$BATS_TEST_TMPDIR/s1"
  slow_get slow2 2M "$BATS_TEST_TMPDIR/s2"
  wait_api v1/metrics/inflight \
    '[.requests[] | select(.transfer_id | startswith("slow"))] | length == 2'
  expect_json '[.requests[] | select(.transfer_id | startswith("slow"))]
    | (map(.transfer_id) | sort) == ["slow1", "slow2"]
    and all(.method == "GET" and .backend == "file" and .pid > 0
            and .elapsed >= 0 and .offset == 0)'
  sleep 1
  api v2/transfers/slow1
  expect_json '.state == "active" and .active == true and .connections == 1
    and .bytes_read > 0 and .bytes_read < 25165824 and .idle_time == 0'
  api v1/metrics
  expect_json '.in_flight >= 2'
  api v2/transfers
  expect_json '[.transfers[] | select(.id == "slow1" or .id == "slow2")
    | .state] == ["active", "active"]'
  stop_bg "$BATS_TEST_TMPDIR/s1"
  stop_bg "$BATS_TEST_TMPDIR/s2"
  wait_api v2/transfers/slow1 '.connections == 0 and .state == "ready"' 100
}

# The idle and sliding timeouts count from the writing of the descriptor
# or the last request to the server's check of the next request.  The
# tests below send requests 1-1.2 s apart inside windows of 2 s; under
# load the shell's sleep and curl's start-up can stretch a gap past 2 s
# (a request refused "idle" at a load of 6).  The shell's clock (the
# server's: CLOCK_REALTIME) marks a moment no later than the one the
# server counts from; a request refused when more than the window has
# passed since that mark says nothing, and the attempt is repeated on a
# fresh transfer.  Refused sooner, the test fails; when no attempt could
# be judged the test is skipped, saying so.
window_mark () { printf -v "$1" '%s' "${EPOCHREALTIME//[.,]/}"; }   # NAME
window_passed () {   # MARK SECONDS [NOW]: SECONDS or more from MARK to NOW
  (( ${3:-${EPOCHREALTIME//[.,]/}} - $1 >= $2 * 1000000 ))
}
window_attempts=3

@test "inactivity timeout: closed after the idle time, shown expired" {
  local attempt id written first second
  for ((attempt = 1; attempt <= window_attempts; attempt++)); do
    id=idle$attempt
    window_mark written
    file_transfer "$id" "$IMAGES/small.img" '{"inactivity_timeout": 2}'
    window_mark first
    http -r 0-0 "$BASE_URL/images/$id"
    if [ "$status_code" = 403 ] && window_passed "$written" 2; then
      continue
    fi
    expect_status 206
    sleep 1
    window_mark second
    http -r 0-0 "$BASE_URL/images/$id"
    if [ "$status_code" = 403 ] && window_passed "$first" 2; then
      continue
    fi
    expect_status 206
    api "v2/transfers/$id"
    if window_passed "$second" 2; then
      continue
    fi
    expect_json '.state == "ready" and .idle_time <= 1'
    break
  done
  [ "$attempt" -le "$window_attempts" ] ||
    skip "more than 2 s between requests in each of $window_attempts attempts"
  # Later than the window however loaded the machine is.
  sleep 3.2
  http -r 0-0 "$BASE_URL/images/$id"
  expect_status 403
  api "v2/transfers/$id"
  expect_json '.state == "expired" and .reason == "idle" and .idle_time >= 3'
  api v1/daemon/events
  expect_json --arg id "$id" '[.events[] | select(.transfer_id == $id
                and (.message | test("expired")))] | length == 1'
}

@test "sliding timeout: each request extends it" {
  local attempt id i sent previous asked answered judged
  for ((attempt = 1; attempt <= window_attempts; attempt++)); do
    id=slide$attempt
    judged=true
    window_mark previous
    file_transfer "$id" "$IMAGES/small.img" '{"timeout": 2}'
    for i in 1 2 3; do
      sleep 1.2
      window_mark sent
      http -r 0-0 "$BASE_URL/images/$id"
      if [ "$status_code" = 403 ] && window_passed "$previous" 2; then
        judged=false
        break
      fi
      expect_status 206
      previous=$sent
    done
    $judged || continue
    window_mark asked
    api "v2/transfers/$id"
    window_mark answered
    if window_passed "$previous" 2 "$answered"; then
      continue
    fi
    # The server closes it 2 s after the last request ended, rounded up
    # to a second, so between the question and 3 s after the answer
    # (not jq's now: that would depend on when jq runs).
    expect_json --argjson asked "$asked" --argjson answered "$answered" \
      '.state == "ready" and .expires > $asked / 1e6
       and .expires <= $answered / 1e6 + 3'
    break
  done
  [ "$attempt" -le "$window_attempts" ] ||
    skip "more than 2 s between requests in each of $window_attempts attempts"
  sleep 3.2
  http -r 0-0 "$BASE_URL/images/$id"
  expect_status 403
  api "v2/transfers/$id"
  expect_json '.state == "expired" and .reason == "timed out"'
}

# 3 s of inactivity: time enough for the requests meant to come within
# it even on a loaded machine; the sleeps pass it for certain.
@test "a transfer re-created by rename starts afresh: counters, expiry event" {
  file_transfer again "$IMAGES/small.img" '{"inactivity_timeout": 3}'
  http -r 0-4095 "$BASE_URL/images/again"
  expect_status 206
  sleep 4.2
  http -r 0-0 "$BASE_URL/images/again"
  expect_status 403
  api v2/transfers/again
  expect_json '.state == "expired" and .bytes_read == 4096 and .requests == 2'
  # The same id, a new descriptor renamed into place.
  file_transfer again "$IMAGES/small.img" '{"inactivity_timeout": 3}'
  api v2/transfers/again
  expect_json '.state == "ready" and .requests == 0 and .bytes_read == 0
               and .transferred == 0 and .errors == 0'
  http -r 0-9 "$BASE_URL/images/again"
  expect_status 206
  api v2/transfers/again
  expect_json '.requests == 1 and .bytes_read == 10 and .transferred == 10'
  sleep 4.2
  http -r 0-0 "$BASE_URL/images/again"
  expect_status 403
  api v1/daemon/events
  expect_json '[.events[] | select(.transfer_id == "again"
                and (.message | test("expired")))] | length == 2'
  expect_json '[.events[] | select(.transfer_id == "again"
                and (.message | test("opened")))] | length == 2'

  # Within the same second as the first transfer's request.
  file_transfer quick "$IMAGES/small.img"
  http -r 0-99 "$BASE_URL/images/quick"
  expect_status 206
  file_transfer quick "$IMAGES/small.img"
  api v2/transfers/quick
  expect_json '.requests == 0 and .bytes_read == 0'
}

@test "a FIFO or a symbolic link in the spool: answered at once, invalid" {
  mkfifo "$SPOOL/ff.json"
  jq -nc --arg p "$IMAGES/small.img" '{path: $p}' > "$BATS_TEST_TMPDIR/real.json"
  ln -s "$BATS_TEST_TMPDIR/real.json" "$SPOOL/sl.json"
  # More requests than workers: a worker stuck on the FIFO would show.
  for i in 1 2 3 4 5; do
    api v2/transfers/ff -m 3
    expect_status 200
    expect_json '.state == "invalid" and .reason == "not a regular file"
                 and .id == "ff"'
  done
  api v2/transfers/sl -m 3
  expect_status 200
  expect_json '.state == "invalid" and .reason == "is a symbolic link"'
  api v2/transfers -m 5
  expect_status 200
  expect_json '[.transfers[] | select(.id == "ff" or .id == "sl") | .state]
               == ["invalid", "invalid"]'
  # The data plane agrees: no such transfer.
  http -m 3 "$BASE_URL/images/ff"
  expect_status 404
  http -m 3 "$BASE_URL/images/sl"
  expect_status 404
  run -0 timeout 3 "$top_builddir/src/ctl/imagexferctl" \
    --config "$STACK_DIR/imagexfer.conf" show ff
  [[ $output == *"state          invalid (not a regular file)"* ]] \
    || fail "imagexferctl show ff: $output"
  rm -f "$SPOOL/ff.json" "$SPOOL/sl.json"
}

@test "PUT/GET/DELETE /api/v2/transfers/ID" {
  api v2/transfers/made -X PUT --data-binary '{"path": "relative.img"}'
  expect_api_error 400 BAD_REQUEST
  [ ! -e "$SPOOL/made.json" ]
  api v2/transfers/made -X PUT --data-binary '{"path": '
  expect_api_error 400 BAD_REQUEST
  api v2/transfers/made -X PUT --data-binary \
    "$(jq -nc --arg p "$IMAGES/small.img" '{file: $p, read_only: true}')"
  expect_status 201
  expect_json --arg p "$IMAGES/small.img" \
    '.id == "made" and .path == $p and .ops == ["read"] and .state == "ready"'
  jq -e --arg p "$IMAGES/small.img" '.file == $p' "$SPOOL/made.json"
  # Not readable by other users, whatever the umask (file_mode 0640).
  [ "$(stat -c %a "$SPOOL/made.json")" = 640 ] \
    || fail "descriptor mode $(stat -c %a "$SPOOL/made.json")"
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ]
  http "$BASE_URL/images/made"
  expect_status 200
  cmp "$IMAGES/small.img" "$STACK_DIR/body"
  api v2/transfers/made -X PUT --data-binary \
    "$(jq -nc --arg p "$IMAGES/small.img" '{path: $p, size: 4096}')"
  expect_status 200
  expect_json '.size == 4096 and .ops == ["read", "write"]'
  transfer_put broken '{"path": 42}'
  api v2/transfers/broken
  expect_status 200
  expect_json '.state == "invalid" and (.reason | length > 0)'
  api v2/transfers
  expect_json '[.transfers[] | select(.id == "broken")][0].state == "invalid"'
  touch "$SPOOL/.hidden.json" "$SPOOL/notjson.txt"
  api v2/transfers
  expect_json '[.transfers[].id] | (index(".hidden") == null)
               and (index("notjson") == null) and (index("made") != null)'
  api v2/transfers/made -X DELETE
  expect_status 204
  [ ! -e "$SPOOL/made.json" ]
  api v2/transfers/made -X DELETE
  expect_api_error 404 NOT_FOUND
  api v2/transfers/made
  expect_status 200
  expect_json '.state == "cancelled" and .bytes_read == 1048576'
  api v2/transfers/never
  expect_api_error 404 NOT_FOUND
  # Cancelled by DELETE: 403 (API.md section 1), not unknown.
  http "$BASE_URL/images/made"
  expect_status 403
}

@test "cancel mid-upload via DELETE: the client fails, written data stays" {
  truncate -s 24M "$IMAGES/up.img"
  file_transfer up "$IMAGES/up.img"
  curl -sS --limit-rate 2M -X PUT --data-binary "@$IMAGES/big.img" \
    -o "$BATS_TEST_TMPDIR/up.body" -w '%{http_code}' \
    "$BASE_URL/images/up" > "$BATS_TEST_TMPDIR/up.code" 2>/dev/null &
  pid=$!
  wait_api v2/transfers/up '.bytes_written >= 2097152'
  api v2/transfers/up -X DELETE
  expect_status 204
  rc=0
  wait "$pid" || rc=$?
  code=$(cat "$BATS_TEST_TMPDIR/up.code")
  [ "$code" != 200 ] || fail "upload finished with 200 after cancel"
  api v2/transfers/up
  expect_json '.state == "cancelled" and .bytes_written >= 2097152
               and .bytes_written < 25165824 and .connections == 0'
  written=$(jq .bytes_written "$STACK_DIR/body")
  # What was written before the cancel is in the image.
  cmp -n "$written" "$IMAGES/big.img" "$IMAGES/up.img"
  api v1/daemon/events
  expect_json '[.events[] | select(.transfer_id == "up"
                and (.message | test("cancelled")))] | length >= 1'
}

@test "a worker killed mid-request: its slot is cleared" {
  file_transfer kill "$IMAGES/big.img"
  slow_get kill 1M "$BATS_TEST_TMPDIR/k"
  wait_api v1/metrics/inflight '[.requests[] | select(.transfer_id == "kill")] | length == 1'
  wpid=$(jq '.requests[] | select(.transfer_id == "kill") | .pid' "$STACK_DIR/body")
  fcgi_worker_pids | grep -qx "$wpid" || fail "pid $wpid is not a worker"
  kill -9 "$wpid"
  wait_api v1/metrics/inflight "[.requests[] | select(.pid == $wpid)] | length == 0"
  stop_bg "$BATS_TEST_TMPDIR/k"
  wait_api v2/transfers/kill '.connections == 0 and .errors >= 1'
  api v1/daemon/events
  expect_json --arg p "$wpid" '[.events[] | select(.transfer_id == "kill"
    and (.message | test("worker " + $p + " .*signal 9")))] | length == 1'
  # The replacement worker serves.
  http -r 0-9 "$BASE_URL/images/kill"
  expect_status 206
}

@test "GET /api/v1/metrics?format=prometheus parses strictly" {
  http -r 0-0 "$BASE_URL/images/rt"
  api "v1/metrics?format=prometheus"
  expect_status 200
  expect_eq "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8"
  python3 - "$STACK_DIR/body" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
sample_re = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.e+]+|\+Inf|NaN)$"
                       % (name_re, label_re, label_re))
types, helps, samples = {}, set(), []
for line in text.splitlines():
    if line.startswith("# HELP "):
        name = line.split()[2]; assert name not in helps; helps.add(name)
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert kind in ("counter", "gauge", "histogram"), line
        assert name not in types, "TYPE twice: " + name
        types[name] = kind
    else:
        m = sample_re.match(line)
        assert m, "bad sample line: %r" % line
        samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
for name, labels, value in samples:
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    fam = name if name in types else base
    assert fam in types and fam in helps, "no TYPE/HELP for " + name
    assert name.startswith(("imagexfer_", "process_")), name
    if types[fam] == "counter": assert value >= 0
h = "imagexfer_request_duration_seconds"
assert types[h] == "histogram"
buckets = [(l, v) for n, l, v in samples if n == h + "_bucket"]
assert buckets[-1][0] == '{le="+Inf"}', buckets[-1]
vals = [v for _, v in buckets]
assert vals == sorted(vals), "buckets not cumulative"
les = [float(re.search(r'le="([^"]+)"', l).group(1)) for l, _ in buckets]
assert les == sorted(les) and les[-1] == float("inf")
count = [v for n, _, v in samples if n == h + "_count"]
assert count == [vals[-1]], "count != +Inf bucket"
assert [v for n, _, v in samples if n == h + "_sum"], "no _sum"
reqs = sum(v for n, _, v in samples if n == "imagexfer_requests_total")
assert reqs == vals[-1] and reqs > 0, (reqs, vals[-1])
PY
}

@test "/api on the TCP listener: 403 FORBIDDEN, even from 127.0.0.1" {
  http "$BASE_URL/api/v1/daemon"
  expect_api_error 403 FORBIDDEN
  http "$BASE_URL/api/v2/transfers/x" -X DELETE
  expect_api_error 403 FORBIDDEN
  api v1/daemon
  expect_status 200
}
