# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, bytes, failed... belong to tests/bench/run
# Benchmark section "gateway" (sourced by tests/bench/run): the same
# file transfers through a second imagexfer whose http transfers point
# at the first (the http backend, tests/bats/http-helpers.bash), beside
# the same transfers direct, both behind lighttpd:
#   gw-direct-get / gw-get   GET of the whole image, host / gateway
#   gw-direct-put / gw-put   PUT (flush=y) of the same bytes
# Ratios: gw-get/gw-direct-get and gw-put/gw-direct-put (aim: >= 0.8).

BENCH_SECTIONS+=(gateway)

section_gateway ()
{
  echo "gateway (http backend) in front of a host, $size image ($bytes bytes), $repeat runs each:"
  bench_start
  stack_save host
  local host_url=$BASE_URL host_images=$IMAGES
  stack_start --workers "$workers" --conf-extra "log_level = info" \
    ${chunk_size:+--conf-extra "chunk_size = $chunk_size"}
  stack_save gateway
  transfer_put g-src "{\"url\": \"$host_url/images/src\"}"
  transfer_put g-dst "{\"url\": \"$host_url/images/dst\"}"
  echo "  chunk_size: ${chunk_size:-default (4M)}, workers: $workers on each side"
  measure gw-direct-get bench_curl_get "$host_url/images/src"
  measure gw-get bench_curl_get "$BASE_URL/images/g-src"
  measure gw-direct-put bench_curl_put "$host_url/images/dst"
  # Emptied, so that the check below is of what the gateway wrote.
  truncate -s 0 "$host_images/target.raw"
  truncate -s "$bytes" "$host_images/target.raw"
  measure gw-put bench_curl_put "$BASE_URL/images/g-dst"
  report_worker_rss
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
  stack_use host
  check_copy gw-put "$IMAGES/target.raw" "uploaded image"
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
}

ratios_gateway ()
{
  ratio gw-get gw-direct-get
  ratio gw-put gw-direct-put
}
