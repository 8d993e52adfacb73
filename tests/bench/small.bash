# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, bytes, failed... belong to tests/bench/run
# Benchmark section "small" (sourced by tests/bench/run): 4 KiB ranged
# GETs from 8 keep-alive clients (wrk, 2 threads) for a few seconds each,
# in requests per second, against the web server's rate on the static
# file in the same run:
#   small-static   lighttpd serving bytes 1048576-1052671 of the image
#   small-file     the same range of a file transfer
#   small-nbd      the same range of a qemu-nbd export (--shared=8)
# Ratios: small-file/small-static, small-nbd/small-static.

# shellcheck source=tests/bats/nbd-helpers.bash
. "$srcdir/tests/bats/nbd-helpers.bash"

BENCH_SECTIONS+=(small)
SMALL_SECONDS=${SMALL_SECONDS:-5}
SMALL_RANGE="bytes=1048576-1052671"

# bench_wrk NAME URL: requests per second into RESULT[NAME]; fails when
# any answer was not a 206.
bench_wrk ()
{
  local name=$1 url=$2 out rate non2xx before after c0 c1 requests
  before=$(cpu_snapshot)
  c0=$(client_ticks)
  out=$(wrk -t2 -c8 -d"${SMALL_SECONDS}s" -H "Range: $SMALL_RANGE" "$url") \
    || { log "bench: wrk failed: $out"; return 1; }
  c1=$(client_ticks)
  after=$(cpu_snapshot)
  non2xx=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
  if [ -n "$non2xx" ]; then
    log "bench: $name: $non2xx answers were not 2xx"
    failed=yes
  fi
  rate=$(echo "$out" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
  RESULT[$name]=$rate
  printf '  %-12s %8s req/s (%s s, 8 connections)\n' "$name" "$rate" "$SMALL_SECONDS"
  requests=$(echo "$out" | awk '/^ *[0-9]+ requests in/ { print $1 }')
  cpu_report "$before" "$after" $((c1 - c0)) \
    "$(awk -v n="$requests" 'BEGIN { print n / 1000000 }')" "us per request"
  if [ -n "$syscalls" ]; then
    syscall_trace_start
    out=$(wrk -t2 -c8 -d2s -H "Range: $SMALL_RANGE" "$url") || :
    syscall_trace_stop "$(echo "$out" | awk '/^ *[0-9]+ requests in/ { print $1 }')" \
      "per request"
  fi
}

section_small ()
{
  if ! command -v wrk >/dev/null || ! command -v qemu-nbd >/dev/null; then
    echo "small: skipped, wrk or qemu-nbd is not installed"
    return 0
  fi
  echo "4 KiB ranged GETs, 8 keep-alive clients, 8 workers, max_readers 8:"
  local saved_workers=$workers
  workers=8
  # The per-transfer cap defaults to one worker less than there are: let
  # all 8 clients read the one transfer, as the static file allows.
  bench_start --conf-extra "max_readers = 8"
  workers=$saved_workers
  nbd_qemu nsmall -r -f raw "$source_image"
  transfer_put nsmall "{\"socket\": \"$(nbd_sock nsmall)\", \"ops\": [\"read\"]}"
  # Each URL answers the range with exactly these bytes first.
  local url expected=$dir/small-expected
  dd if="$source_image" bs=4096 skip=256 count=1 status=none > "$expected"
  for url in "$BASE_URL/static.raw" "$BASE_URL/images/src" \
             "$BASE_URL/images/nsmall"; do
    curl -sS -H "Range: $SMALL_RANGE" -o "$dir/small-got" "$url"
    cmp -s "$expected" "$dir/small-got" || { log "bench: $url: wrong bytes"; failed=yes; }
  done
  bench_wrk small-static "$BASE_URL/static.raw"
  bench_wrk small-file "$BASE_URL/images/src"
  bench_wrk small-nbd "$BASE_URL/images/nsmall"
  report_worker_rss
  nbd_stop_all
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
}

ratios_small ()
{
  ratio small-file small-static
  ratio small-nbd small-static
}
