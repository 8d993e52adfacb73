# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # srcdir, dir, repeat, failed... belong to tests/bench/run
# Benchmark section "extents" (sourced by tests/bench/run): the extents
# of a 4 TiB sparse qcow2 (1 MiB of data every 16 GiB) exported by
# qemu-nbd, in seconds, median of --repeat runs:
#   ext-nbdinfo     nbdinfo --map on the export
#   ext-imagexfer   GET /images/<id>/extents of the same export
# Ratio: ext-imagexfer/ext-nbdinfo (the bar is 1.2).

# shellcheck source=tests/bats/nbd-helpers.bash
. "$srcdir/tests/bats/nbd-helpers.bash"

BENCH_SECTIONS+=(extents)
declare -A SECONDS_OF=()

# median_seconds NAME COMMAND...: run COMMAND $repeat times (it prints
# seconds); the median into SECONDS_OF[NAME].
median_seconds ()
{
  local name=$1 i t times=()
  shift
  for ((i = 0; i < repeat; i++)); do
    t=$("$@") || { log "bench: $name failed"; return 1; }
    times+=("$t")
  done
  SECONDS_OF[$name]=$(median "${times[@]}")
  printf '  %-14s %8s s   (median of %d: %s)\n' "$name" "${SECONDS_OF[$name]}" \
    "$repeat" "$(printf '%s ' "${times[@]}")"
}

bench_nbdinfo_map ()
{
  local t0 t1
  t0=$(date +%s.%N)
  nbdinfo --map "$1" > "$dir/nbdinfo.map" || return 1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

bench_curl_extents ()
{
  local code t
  read -r code t < <(curl -sS -o "$dir/extents.json" \
    -w '%{http_code} %{time_total}\n' "$1")
  if [ "$code" != 200 ]; then
    log "bench: GET extents answered $code: $(head -c 300 "$dir/extents.json")"
    return 1
  fi
  echo "$t"
}

section_extents ()
{
  local tool image=$dir/sparse-4t.qcow2 writes=() i data
  for tool in qemu-nbd qemu-img qemu-io nbdinfo; do
    if ! command -v "$tool" >/dev/null; then
      echo "extents: skipped, $tool is not installed"
      return 0
    fi
  done
  echo "extents of a 4 TiB sparse qcow2 through qemu-nbd, $repeat runs each:"
  if [ ! -s "$image" ]; then
    qemu-img create -q -f qcow2 "$image" 4T
    for ((i = 0; i < 256; i++)); do
      writes+=(-c "write -q -P 1 $((i * 16))G 1M")
    done
    qemu-io -f qcow2 "${writes[@]}" "$image" > /dev/null
  fi
  bench_start
  nbd_qemu next -r -f qcow2 "$image"
  transfer_put next "{\"socket\": \"$(nbd_sock next)\", \"ops\": [\"read\"]}"
  median_seconds ext-nbdinfo bench_nbdinfo_map "$(nbd_uri next)"
  median_seconds ext-imagexfer bench_curl_extents "$BASE_URL/images/next/extents"
  # Both see the same data: 256 extents of 1 MiB.
  data=$(grep -o '"zero": *false' "$dir/extents.json" | wc -l)
  if [ "$data" != 256 ]; then
    echo "  ext-imagexfer: $data data extents, expected 256"
    failed=yes
  fi
  nbd_stop_all
  stack_stop
  [ -n "$keep" ] || rm -rf "$STACK_DIR" "$image"
  rm -f "$dir/nbdinfo.map" "$dir/extents.json"
}

ratios_extents ()
{
  if [ -n "${SECONDS_OF[ext-imagexfer]:-}" ] && [ -n "${SECONDS_OF[ext-nbdinfo]:-}" ]; then
    awk -v a="${SECONDS_OF[ext-imagexfer]}" -v b="${SECONDS_OF[ext-nbdinfo]}" \
      'BEGIN { printf "  %-14s %.2f\n", "ext-imagexfer/ext-nbdinfo (time)", a / b }'
  fi
}
