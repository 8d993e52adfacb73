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
# The three take turns, --repeat rounds of them: on a shared host the
# rate drifts by a fifth within a minute, and a ratio of two rates
# measured back to back is what drifts least.  Rates: the median of the
# rounds.  Ratios: the median of each round's small-file/small-static
# and small-nbd/small-static.

# shellcheck source=tests/bats/nbd-helpers.bash
. "$srcdir/tests/bats/nbd-helpers.bash"

BENCH_SECTIONS+=(small)
SMALL_SECONDS=${SMALL_SECONDS:-5}
SMALL_RANGE="bytes=1048576-1052671"

# bench_wrk NAME URL [ROUND]: requests per second, appended to
# SMALL_RATES[NAME] (one per round; each section has its own names);
# fails when any answer was not a 206.  With --syscalls, the first round
# also counts system calls (the counts do not drift with the host as the
# rates do).
declare -A SMALL_RATES=()
bench_wrk ()
{
  local name=$1 url=$2 round=${3:-1} out rate non2xx before after c0 c1 requests
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
  SMALL_RATES[$name]+="$rate "
  printf '  %-12s %8s req/s (%s s, 8 connections)\n' "$name" "$rate" "$SMALL_SECONDS"
  requests=$(echo "$out" | awk '/^ *[0-9]+ requests in/ { print $1 }')
  cpu_report "$before" "$after" $((c1 - c0)) \
    "$(awk -v n="$requests" 'BEGIN { print n / 1000000 }')" "us per request"
  if [ -n "$syscalls" ] && [ "$round" -eq 1 ]; then
    syscall_trace_start
    out=$(wrk -t2 -c8 -d2s -H "Range: $SMALL_RANGE" "$url") || :
    syscall_trace_stop "$(echo "$out" | awk '/^ *[0-9]+ requests in/ { print $1 }')" \
      "per request"
  fi
}

# small_check_bytes URL...: each URL answers SMALL_RANGE with exactly
# the image's bytes there (else the run is marked failed).
small_check_bytes ()
{
  local url expected=$dir/small-expected
  dd if="$source_image" bs=4096 skip=256 count=1 status=none > "$expected"
  for url in "$@"; do
    curl -sS -H "Range: $SMALL_RANGE" -o "$dir/small-got" "$url"
    cmp -s "$expected" "$dir/small-got" || { log "bench: $url: wrong bytes"; failed=yes; }
  done
}

# small_report NAME...: each NAME's median rate over the rounds, into
# RESULT and printed with the rounds' own.
small_report ()
{
  local name rates
  for name in "$@"; do
    read -ra rates <<< "${SMALL_RATES[$name]:-}"
    RESULT["$name"]=$(printf '%.0f' "$(median "${rates[@]}")")
    printf '  %-16s %8s req/s (median of %d: %s)\n' "$name" \
      "${RESULT[$name]}" "$repeat" "${rates[*]}"
  done
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
  small_check_bytes "$BASE_URL/static.raw" "$BASE_URL/images/src" \
    "$BASE_URL/images/nsmall"
  local round name
  for ((round = 1; round <= repeat; round++)); do
    echo "  round $round of $repeat:"
    bench_wrk small-static "$BASE_URL/static.raw" "$round"
    bench_wrk small-file "$BASE_URL/images/src" "$round"
    bench_wrk small-nbd "$BASE_URL/images/nsmall" "$round"
  done
  small_report small-static small-file small-nbd
  report_worker_rss
  nbd_stop_all
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
}

# small_ratio A B: the median over the rounds of A's rate over B's in
# the same round.
small_ratio ()
{
  local a b i ratios=()
  read -ra a <<< "${SMALL_RATES[$1]:-}"
  read -ra b <<< "${SMALL_RATES[$2]:-}"
  [ ${#a[@]} -gt 0 ] && [ ${#a[@]} -eq ${#b[@]} ] || return 0
  for i in "${!a[@]}"; do
    ratios+=("$(awk -v a="${a[$i]}" -v b="${b[$i]}" 'BEGIN { printf "%.3f", a / b }')")
  done
  awk -v m="$(median "${ratios[@]}")" -v n="$1/$2" -v each="${ratios[*]}" \
    'BEGIN { printf "  %-14s %.2f (median of the rounds: %s)\n", n, m, each }'
}

ratios_small ()
{
  small_ratio small-file small-static
  small_ratio small-nbd small-static
}
