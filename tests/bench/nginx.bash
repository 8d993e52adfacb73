# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, bytes, failed... belong to tests/bench/run
# Benchmark section "nginx" (sourced by tests/bench/run): the same file
# transfers with nginx in front of the daemon (deploy/nginx), in the same
# run as the lighttpd ones:
#   ngx-static   nginx serving the image as a static file
#   ngx-get      GET /images/<id> through nginx
#   ngx-put      PUT /images/<id> (flush=y) through nginx
# Ratios: ngx-get/ngx-static, ngx-put/dd-best, and nginx against lighttpd.

BENCH_SECTIONS+=(nginx)

section_nginx ()
{
  if [ ! -x "$NGINX" ]; then
    echo "nginx: skipped, nginx is not installed"
    return 0
  fi
  echo "nginx in front of the daemon, $size image ($bytes bytes), $repeat runs each:"
  bench_start --front nginx
  echo "  chunk_size: ${chunk_size:-default (4M)}, workers: $workers"
  measure ngx-static bench_curl_get "$BASE_URL/static.raw"
  measure ngx-get bench_curl_get "$BASE_URL/images/src"
  measure ngx-put bench_curl_put "$BASE_URL/images/dst"
  report_worker_rss
  check_copy ngx-put "$IMAGES/target.raw" "uploaded image"
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
}

ratios_nginx ()
{
  ratio ngx-get ngx-static
  ratio ngx-put dd-best
  ratio ngx-get get
  ratio ngx-put put
}
