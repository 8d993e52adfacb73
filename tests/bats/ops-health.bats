#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What an operator learns of the daemon's health: spool and state
# directories checked at start and reported by /api/v1/daemon, and the
# Prometheus metrics (build, process, transfers by state) as promtool
# reads them.

bats_require_minimum_version 1.5.0

load helpers
load expect
load ctl-helpers

metric () {   # NAME{LABELS} from the last Prometheus answer
  awk -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' \
    "$STACK_DIR/body"
}

setup_file () {
  stack_start --workers 2
  image_random "$IMAGES/a.img" 1M
  image_random "$IMAGES/big.img" 16M
}
teardown_file () { stack_stop; }

upload_pid=""
teardown () {
  if [ -n "$upload_pid" ]; then
    kill "$upload_pid" 2>/dev/null || :
    wait "$upload_pid" 2>/dev/null || :
  fi
}

@test "imagexfer-fcgi does not start without its directories, and says why" {
  dir=$BATS_TEST_TMPDIR
  mkdir -p "$dir/spool" "$dir/state"
  : > "$dir/file"
  for case in "spool_dir|$dir/none|$dir/state|No such file or directory" \
              "state_dir|$dir/spool|$dir/none|No such file or directory" \
              "spool_dir|$dir/file|$dir/state|not a directory"; do
    IFS='|' read -r key spool state why <<<"$case"
    printf 'spool_dir = %s\nstate_dir = %s\n' "$spool" "$state" > "$dir/c.conf"
    bad=$spool
    [ "$key" = state_dir ] && bad=$state
    run -1 timeout 10 "$IMAGEXFER_FCGI" --config "$dir/c.conf" \
      --listen "$dir/fcgi.sock" --workers 1
    expect_eq "$output" "imagexfer-fcgi: $key $bad: $why (config key $key in $dir/c.conf)"
    [ ! -e "$dir/fcgi.sock" ]
  done
}

@test "/api/v1/daemon: spool and state, and a spool gone while running" {
  api v1/daemon
  expect_status 200
  expect_json --arg s "$SPOOL" --arg t "$STATE" '
    .spool == {"path": $s, "ok": true, "error": null}
    and .state == {"path": $t, "ok": true, "error": null}
    and .spool_dir == $s and .state_dir == $t'
  mv "$SPOOL" "$SPOOL.away"
  api v1/daemon
  mv "$SPOOL.away" "$SPOOL"
  expect_status 200
  expect_json --arg s "$SPOOL" '
    .spool == {"path": $s, "ok": false, "error": "No such file or directory"}
    and .state.ok'
  api v1/daemon
  expect_json '.spool.ok and .spool.error == null'
}

@test "metrics: transfers by state, build info, process metrics; promtool finds nothing" {
  command -v promtool >/dev/null \
    || skip "promtool is not installed (Debian package prometheus)"
  image_sparse "$IMAGES/target.img" 16M
  ctl add ready --path "$IMAGES/a.img"
  ctl add old --path "$IMAGES/a.img" --expires 1
  ctl add gone --path "$IMAGES/a.img"
  ctl cancel gone
  transfer_put broken '{"path": "relative.img"}'
  ctl add busy --path "$IMAGES/target.img"
  curl -sS --limit-rate 1M -o /dev/null --upload-file "$IMAGES/big.img" \
    "$BASE_URL/images/busy" &
  upload_pid=$!
  for _ in $(seq 50); do
    ctl show busy --json | jq -e '.state == "active"' >/dev/null && break
    sleep 0.1
  done
  api "v1/metrics?format=prometheus"
  expect_status 200
  run -0 promtool check metrics < "$STACK_DIR/body"
  expect_eq "$output" "" "promtool check metrics"
  expect_eq "$(metric 'imagexfer_build_info{version="0.1.0"}')" 1
  for s in ready active expired cancelled invalid; do
    expect_eq "$(metric "imagexfer_transfers{state=\"$s\"}")" 1 "$s transfers"
  done

  # The whole daemon: the supervisor and its workers.
  sup=$(fcgi_supervisor_pid)
  pids="$sup $(fcgi_worker_pids | tr '\n' ' ')"
  api v1/daemon
  start=$(jq .start_time "$STACK_DIR/body")
  api "v1/metrics?format=prometheus"
  awk -v a="$(metric process_start_time_seconds)" -v b="$start" \
    'BEGIN { d = a - b; exit !(d > -2 && d < 2) }'
  fds=0 rss=0
  for p in $pids; do
    fds=$((fds + $(find /proc/"$p"/fd -mindepth 1 -maxdepth 1 | wc -l)))
    rss=$((rss + $(awk '{ print $2 }' /proc/"$p"/statm) * $(getconf PAGESIZE)))
  done
  n=$(wc -w <<<"$pids")
  got=$(metric process_open_fds)
  # The worker answering holds the request's socket; we may see one
  # more or less per process than it did a moment before.
  [ $((got - fds)) -le "$n" ] && [ $((fds - got)) -le "$n" ] \
    || fail "process_open_fds $got, /proc says $fds for $n processes"
  got=$(metric process_resident_memory_bytes)
  awk -v a="$got" -v b="$rss" 'BEGIN { exit !(a > b * 0.8 && a < b * 1.25) }' \
    || fail "process_resident_memory_bytes $got, /proc says $rss"

  # CPU seconds never go back when a worker is replaced: the exited
  # one's time is still counted (the supervisor's waited-for children).
  kill "$upload_pid" 2>/dev/null || :
  wait "$upload_pid" 2>/dev/null || :
  upload_pid=""
  for i in $(seq 20); do http -o /dev/null "$BASE_URL/images/ready"; done
  api "v1/metrics?format=prometheus"
  before=$(metric process_cpu_seconds_total)
  victim=$(fcgi_worker_pids | head -n 1)
  kill -KILL "$victim"
  for _ in $(seq 50); do
    [ "$(fcgi_worker_pids | wc -l)" = 2 ] \
      && ! fcgi_worker_pids | grep -qx "$victim" && break
    sleep 0.1
  done
  api "v1/metrics?format=prometheus"
  after=$(metric process_cpu_seconds_total)
  awk -v a="$after" -v b="$before" 'BEGIN { exit !(a >= b) }' \
    || fail "process_cpu_seconds_total went back: $before -> $after"
  run -0 promtool check metrics < "$STACK_DIR/body"
  expect_eq "$output" "" "promtool check metrics"
}
