# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, repeat, failed... belong to tests/bench/run
# Benchmark section "small-nginx" (sourced by tests/bench/run): the 4 KiB
# ranged GETs of section "small" through nginx, as deploy/nginx ships it
# and with an upstream keepalive pool, against nginx's own rate on the
# static file in the same round:
#   ngx-small-static  nginx serving the range of the image
#   ngx-small-file    the same range of a file transfer, a FastCGI
#                     connection per request (deploy/nginx as shipped)
#   ngx-small-pool    the same through "upstream { keepalive 8; }": the
#                     requests come on connections nginx keeps
# Two stacks run side by side; the three take turns, --repeat rounds of
# them, and the ratios are the median of each round's own (see small).

BENCH_SECTIONS+=(small-nginx)

section_small-nginx ()
{
  if ! command -v wrk >/dev/null || [ ! -x "$NGINX" ]; then
    echo "small-nginx: skipped, wrk or nginx is not installed"
    return 0
  fi
  echo "4 KiB ranged GETs through nginx, 8 keep-alive clients, 8 workers, max_readers 8:"
  local saved_workers=$workers
  workers=8
  bench_start --front nginx --conf-extra "max_readers = 8"
  stack_save shipped
  bench_start --front nginx --conf-extra "max_readers = 8" --nginx-keepalive 8
  stack_save pooled
  workers=$saved_workers
  local name round
  for name in shipped pooled; do
    stack_use "$name"
    small_check_bytes "$BASE_URL/static.raw" "$BASE_URL/images/src"
  done
  for ((round = 1; round <= repeat; round++)); do
    echo "  round $round of $repeat:"
    stack_use shipped
    bench_wrk ngx-small-static "$BASE_URL/static.raw" "$round"
    bench_wrk ngx-small-file "$BASE_URL/images/src" "$round"
    stack_use pooled
    bench_wrk ngx-small-pool "$BASE_URL/images/src" "$round"
  done
  small_report ngx-small-static ngx-small-file ngx-small-pool
  for name in shipped pooled; do
    stack_use "$name"
    report_worker_rss
    stack_stop
    [ -n "$keep" ] || rm -rf "$STACK_DIR"
  done
}

ratios_small-nginx ()
{
  small_ratio ngx-small-file ngx-small-static
  small_ratio ngx-small-pool ngx-small-static
}
