# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, bytes, failed... belong to tests/bench/run
# Benchmark section "nbd" (sourced by tests/bench/run): the NBD backend
# through the stack against nbdcopy on the same exports, in one run:
#   nbd-get          GET /images/<id> of qemu-nbd -r -f raw SOURCE, to /dev/null
#   nbdcp-get        nbdcopy from the same export to a local file
#   nbdcp-null       nbdcopy from the same export to null: (NBD read rate)
#   nbd-put          PUT /images/<id> (flush=y) into qemu-nbd -f raw TARGET
#   nbdcp-put        nbdcopy --flush from the source file into the same export
#   nbd-get-fresh    the GET from a qemu-nbd started just before it, as a
#                    server started for one transfer is
# Both measured exports are read once in 16 MiB commands first
# (bench_nbd_prime); nbd-get-fresh shows what a server meets unprimed.
# Ratios: nbd-get/nbdcp-get, nbd-get/nbdcp-null, nbd-put/nbdcp-put.

# shellcheck source=tests/bats/nbd-helpers.bash
. "$srcdir/tests/bats/nbd-helpers.bash"

BENCH_SECTIONS+=(nbd)

# bench_nbdcopy SRC DST [nbdcopy options]: prints seconds.
bench_nbdcopy ()
{
  local src=$1 dst=$2 t0 t1
  shift 2
  case $dst in
    /*) rm -f "$dst" ;;
  esac
  t0=$(date +%s.%N)
  nbdcopy "$@" "$src" "$dst" || return 1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# bench_nbd_prime NAME: read the export once in 16 MiB commands, so that
# every tool meets a server in the same state.  qemu-nbd allocates each
# command's buffer with posix_memalign; glibc maps buffers of 128 KiB or
# more and raises its mmap threshold only as far as the largest one
# freed, so whichever client a fresh qemu-nbd serves first decides
# whether later commands of 256-512 KiB are mapped and faulted in page by
# page (slow) or come from the heap.  One large command lifts the
# threshold for good, as a long-running server would have it.
bench_nbd_prime ()
{
  nbdcopy --request-size=16777216 --requests=1 "$(nbd_uri "$1")" null: \
    || { log "bench: priming $1 failed"; return 1; }
}

# bench_nbd_fresh_get: GET of a qemu-nbd started anew for it (nfresh).
bench_nbd_fresh_get ()
{
  nbd_stop nfresh >/dev/null 2>&1 || :
  nbd_qemu nfresh -r -f raw "$source_image" || return 1
  bench_curl_get "$BASE_URL/images/nfresh"
}

section_nbd ()
{
  local tool
  for tool in qemu-nbd nbdcopy nbdinfo setpriv; do
    if ! command -v "$tool" >/dev/null; then
      echo "nbd: skipped, $tool is not installed"
      return 0
    fi
  done
  echo "nbd backend (qemu-nbd, raw file), $size image ($bytes bytes), $repeat runs each:"
  bench_start
  echo "  chunk_size: ${chunk_size:-default (4M)}, workers: $workers," \
       "qemu-nbd $(qemu-nbd --version | head -n 1 | awk '{ print $2 }')," \
       "nbdcopy $(nbdcopy --version | head -n 1 | awk '{ print $2 }')"

  local target=$dir/nbd-target.raw copy=$dir/nbdcopy-copy.raw
  rm -f "$target"
  # Written once (zeros, so that the cmp after nbd-put still checks what
  # it wrote): every PUT below, imagexfer's first included, then
  # overwrites written blocks, as nbdcp-put after it does.  On a target
  # fresh from fallocate the first nbd-put alone converted the unwritten
  # extents, and the CPU summed over its runs showed it.
  dd if=/dev/zero of="$target" bs=8M count="$bytes" iflag=count_bytes \
    conv=fsync status=none
  nbd_qemu nsrc -r -f raw "$source_image"
  nbd_qemu ndst -f raw "$target"
  bench_nbd_prime nsrc
  bench_nbd_prime ndst
  transfer_put nsrc "{\"socket\": \"$(nbd_sock nsrc)\", \"ops\": [\"read\"]}"
  transfer_put ndst "{\"socket\": \"$(nbd_sock ndst)\"}"

  measure nbd-get bench_curl_get "$BASE_URL/images/nsrc"
  transfer_put nfresh "{\"socket\": \"$(nbd_sock nfresh)\", \"ops\": [\"read\"]}"
  measure nbd-get-fresh bench_nbd_fresh_get
  measure nbdcp-get bench_nbdcopy "$(nbd_uri nsrc)" "$copy"
  check_copy nbdcp-get "$copy" "the copy"
  rm -f "$copy"
  measure nbdcp-null bench_nbdcopy "$(nbd_uri nsrc)" null:

  measure nbd-put bench_curl_put "$BASE_URL/images/ndst"
  check_copy nbd-put "$target" "the export's file"
  measure nbdcp-put bench_nbdcopy "$source_image" "$(nbd_uri ndst)" --flush

  report_worker_rss
  nbd_stop_all
  rm -f "$target"
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR"
  echo "  nbd ratios:"
  ratio nbd-get nbdcp-get
  ratio nbd-get nbdcp-null
  ratio nbd-get-fresh nbdcp-null
  ratio nbd-put nbdcp-put
}
