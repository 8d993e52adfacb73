#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# imagexferctl for a transfer under way: watch with percent, ETA and
# --json; extend; check telling typos from fields the server ignores.

bats_require_minimum_version 1.5.0

load helpers
load expect
load ctl-helpers

setup_file () { ctl_stack_start; }
teardown_file () { stack_stop; }

# An upload running in the background at a limited rate (a download
# would not do: the web server reads the whole response ahead of a slow
# client, an upload reaches the image as the client sends it).
slow_put () {   # ID FILE RATE
  curl -sS --limit-rate "$3" -o /dev/null --upload-file "$2" \
    "$BASE_URL/images/$1" &
  echo $! > "$BATS_TEST_TMPDIR/curl.pid"
}
stop_put () {
  local p
  p=$(cat "$BATS_TEST_TMPDIR/curl.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null || :
  wait "$p" 2>/dev/null || :
}
teardown () { stop_put; }

@test "watch --json: one object a tick, percent and ETA of an upload" {
  image_sparse "$IMAGES/target.img" 16M
  ctl add w1 --path "$IMAGES/target.img"
  slow_put w1 "$IMAGES/big.img" 2M
  sleep 0.5
  run -0 timeout 20 "$CTL" --config "$STACK_DIR/imagexfer.conf" watch \
    w1 --json --count 2 --interval 1
  echo "$output" >&2
  [ "${#lines[@]}" = 2 ]
  for l in "${lines[@]}"; do
    jq -e '(keys | sort) == (["time", "id", "state", "bytes_read",
             "bytes_written", "bytes", "transferred", "size", "rate",
             "percent", "eta_seconds", "in_flight", "idle_time"] | sort)
           and .id == "w1" and .state == "active" and .size == 16777216
           and .in_flight == 1 and .bytes_read == 0
           and .bytes == .bytes_written and .transferred <= .bytes_written
           and .percent >= 0 and .percent < 100' <<<"$l"
  done
  # The second tick has a rate (2 MiB/s, give or take the scheduler)
  # and the time the rest takes at that rate.
  jq -e -s '.[1].bytes_written > .[0].bytes_written
    and .[1].percent > .[0].percent' <<<"$output"
  jq -e '.rate > 1000000 and .rate < 4000000
    and .percent == ((.transferred * 1000 / .size | round) / 10)
    and .eta_seconds > 0
    and (.eta_seconds - (.size - .transferred) / .rate | fabs) <= 1' \
    <<<"${lines[1]}"
  stop_put
  # Without --json: the same figures in the line.
  run -0 ctl watch w1 --count 1
  [[ $output == "w1: "*" read "*"  "*"%  ETA "* ]]
}

@test "watch: percent of the descriptor's size; 100% and ETA 0 when done" {
  ctl add w2 --path "$IMAGES/big.img" --size 1048576
  http "$BASE_URL/images/w2"
  expect_status 200
  run -0 ctl watch w2 --json --count 1
  jq -e '.size == 1048576 and .percent == 100 and .eta_seconds == 0
    and .transferred == 1048576 and .rate == 0' <<<"$output"
  # A size nobody can tell (an NBD server that is not there): no
  # percent, no ETA, still a line.
  ctl add w3 --socket "$STACK_DIR/no-such.sock" --export x
  run -0 ctl watch w3 --json --count 1
  jq -e '.size == null and .percent == null and .eta_seconds == null
    and .state == "ready"' <<<"$output"
  run -0 ctl watch w3 --count 1
  [[ $output != *"ETA"* ]]
}

@test "extend: only expires changes, atomically; the transfer reopens" {
  cat > "$BATS_TEST_TMPDIR/d.json" <<EOF
{"file": "$IMAGES/a.img", "backend": "file", "uuid": "u-1",
 "read_only": true, "expires": 1, "filename": "a.img"}
EOF
  ctl add e1 --file "$BATS_TEST_TMPDIR/d.json"
  http -r 0-0 "$BASE_URL/images/e1"
  expect_error 403
  now=$(date +%s)
  run -0 ctl extend e1 --timeout 600
  [[ $output == "extended e1: expires "*Z ]]
  jq -e --argjson now "$now" '.expires >= $now + 600 and .expires <= $now + 602' \
    "$SPOOL/e1.json"
  # Every other field as the writer gave it: names, values, order.
  diff <(jq -c 'del(.expires)' "$BATS_TEST_TMPDIR/d.json") \
       <(jq -c 'del(.expires)' "$SPOOL/e1.json")
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ]
  http -r 0-9 "$BASE_URL/images/e1"
  expect_status 206
  run -0 ctl show e1 --json
  jq -e '.state == "ready" and .bytes_read == 10 and .read_only == null
    and .ops == ["read"]' <<<"$output"
  # An absolute instant: RFC 3339 kept as written, or Unix seconds.
  run -0 ctl extend e1 --expires 2030-01-02T03:04:05Z
  [ "$output" = "extended e1: expires 2030-01-02T03:04:05Z" ]
  jq -e '.expires == "2030-01-02T03:04:05Z"' "$SPOOL/e1.json"
  run -0 ctl extend e1 --expires 1900000000
  jq -e '.expires == 1900000000' "$SPOOL/e1.json"
  # The counters are the same transfer's (a replacement, not a new one).
  run -0 ctl show e1 --json
  jq -e '.bytes_read == 10 and .expires == 1900000000' <<<"$output"
  # Back in the past: closed again.
  run -0 ctl extend e1 --expires 1
  http -r 0-0 "$BASE_URL/images/e1"
  expect_error 403
}

@test "extend: refused without a transfer, or with bad arguments" {
  run -1 ctl extend nope --timeout 60
  [ "$output" = "imagexferctl extend: no such transfer: nope" ]
  [ ! -e "$SPOOL/nope.json" ]
  ctl add e2 --path "$IMAGES/a.img"
  cp "$SPOOL/e2.json" "$BATS_TEST_TMPDIR/before"
  run -2 ctl extend e2
  run -2 ctl extend e2 --timeout 60 --expires 1
  run -2 ctl extend e2 --timeout -5
  run -2 ctl extend e2 --expires tomorrow
  run -2 ctl extend ../e2 --timeout 60
  cmp "$BATS_TEST_TMPDIR/before" "$SPOOL/e2.json"
  # A descriptor gone bad is not papered over.
  printf '{"path": "relative"}' > "$SPOOL/.e3.tmp"
  mv "$SPOOL/.e3.tmp" "$SPOOL/e3.json"
  run -1 ctl extend e3 --timeout 60
  [[ $output == "imagexferctl extend: e3: "*"path"* ]]
  jq -e '.expires == null' "$SPOOL/e3.json"
}

@test "check: a typo of a known field is invalid; other unknown fields listed" {
  printf '{"path": "%s", "read_onyl": true}' "$IMAGES/a.img" \
    > "$BATS_TEST_TMPDIR/typo.json"
  run -1 ctl check "$BATS_TEST_TMPDIR/typo.json"
  [ "$output" = 'invalid: read_onyl: unknown field, did you mean "read_only"?' ]
  # In the spool: as if absent (404), and the log says why.
  cp "$BATS_TEST_TMPDIR/typo.json" "$SPOOL/typo.json"
  http -r 0-0 "$BASE_URL/images/typo"
  expect_error 404
  grep -q 'read_onyl: unknown field, did you mean "read_only"?' "$FCGI_LOG"
  printf '{"path": "%s", "uuid": "x", "colour": "blue", "ttl": 5}' \
    "$IMAGES/a.img" > "$BATS_TEST_TMPDIR/extra.json"
  run -0 --separate-stderr ctl check "$BATS_TEST_TMPDIR/extra.json"
  [ "${lines[0]}" = valid ]
  printf '%s\n' "${lines[@]:1}" | jq -e '.path != null' >/dev/null
  # uuid is an ImageIO ticket's field: known.  The others are reported.
  [ "$stderr" = "$BATS_TEST_TMPDIR/extra.json: unknown field \"colour\" is ignored
$BATS_TEST_TMPDIR/extra.json: unknown field \"ttl\" is ignored" ]
}
