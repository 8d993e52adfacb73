#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# GET /images/<id>/extents on NBD exports (API.md section 2): zero
# extents on nbdkit memory, holes over a qcow2 backing chain
# (qemu:allocation-depth), dirty extents from a qcow2 bitmap, all-dirty
# without a bitmap, and multi-terabyte sparse exports.  Expected lists
# are written out by hand and checked against what qemu-img map and
# nbdinfo --map say.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576
SIZE=8388608
ZKEYS='["hole", "length", "start", "zero"]'
DKEYS='["dirty", "length", "start", "zero"]'

setup_file () {
  for t in qemu-nbd qemu-img qemu-io nbdkit nbdcopy nbdinfo jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  stack_start --workers 2
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require qemu-nbd qemu-img qemu-io nbdkit nbdcopy nbdinfo jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

# Servers started by a test are stopped after it.
teardown () {
  nbd_stop_all
}

# qemu-img map --output=json of an image, as the zero-context list the
# API must give: hole where no layer of what is exported has the data
# (qemu:allocation-depth 0, "present": false in the map).
map_expected () {
  qemu-img map --output=json -U "$1" | jq -c '
    [.[] | {start, length, zero, hole: (.present | not)}]
    | reduce .[] as $e ([];
        if length > 0 and .[-1].zero == $e.zero and .[-1].hole == $e.hole
        then .[-1].length += $e.length else . + [$e] end)'
}

# The dirty ranges nbdinfo --map=qemu:dirty-bitmap:NAME reports, as
# [[start, length], ...].
dirty_ranges_nbdinfo () {
  nbdinfo --map="qemu:dirty-bitmap:$2" --json "$1" |
    jq -c '[.[] | select(.type % 2 == 1) | [.offset, .length]]
           | reduce .[] as $e ([];
               if length > 0 and (.[-1] | add) == $e[0]
               then .[-1][1] += $e[1] else . + [$e] end)'
}

# The dirty ranges of the last /extents?context=dirty answer, merged.
dirty_ranges_body () {
  jq -c '[.[] | select(.dirty) | [.start, .length]]
         | reduce .[] as $e ([];
             if length > 0 and (.[-1] | add) == $e[0]
             then .[-1][1] += $e[1] else . + [$e] end)' "$STACK_DIR/body"
}

@test "nbdkit memory: zero extents after writes and a zero, exact and gap-free" {
  nbd_kit mem memory 64M
  transfer_json mem --arg s "$(nbd_sock mem)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/a" 2097152
  image_random "$BATS_TEST_TMPDIR/b" 65536
  http -T "$BATS_TEST_TMPDIR/a" -H "Content-Range: bytes 1048576-3145727/*" \
    "$BASE_URL/images/mem"
  expect_status 200
  http -T "$BATS_TEST_TMPDIR/b" -H "Content-Range: bytes 10485760-10551295/*" \
    "$BASE_URL/images/mem"
  expect_status 200
  http -X PATCH -H "Content-Type: application/json" \
    --data '{"op": "zero", "offset": 1572864, "size": 524288}' "$BASE_URL/images/mem"
  expect_status 200

  for url in "$BASE_URL/images/mem/extents" "$BASE_URL/images/mem/extents?context=zero"; do
    http "$url"
    expect_extents_cover 67108864 "$ZKEYS"
    expect_json --argjson m "$MiB" '. == [
      {"start": 0, "length": $m, "zero": true, "hole": false},
      {"start": $m, "length": ($m / 2), "zero": false, "hole": false},
      {"start": (1.5 * $m), "length": ($m / 2), "zero": true, "hole": false},
      {"start": (2 * $m), "length": $m, "zero": false, "hole": false},
      {"start": (3 * $m), "length": (7 * $m), "zero": true, "hole": false},
      {"start": (10 * $m), "length": 65536, "zero": false, "hole": false},
      {"start": (10 * $m + 65536), "length": (54 * $m - 65536), "zero": true, "hole": false}]'
  done
  expected=$(nbd_expected_extents "$(nbd_uri mem)" 67108864)
  expect_json --argjson e "$expected" '. == $e'

  # The data reads back through the stack.
  http -H "Range: bytes=1048576-3145727" "$BASE_URL/images/mem"
  expect_status 206
  head -c 2097152 /dev/zero > "$BATS_TEST_TMPDIR/want"
  write_at "$BATS_TEST_TMPDIR/want" 0 <(head -c 524288 "$BATS_TEST_TMPDIR/a")
  write_at "$BATS_TEST_TMPDIR/want" 1048576 <(tail -c 1048576 "$BATS_TEST_TMPDIR/a")
  expect_body_is "$BATS_TEST_TMPDIR/want"
}

@test "context values other than zero and dirty are 400" {
  nbd_kit mem memory 1M
  transfer_json mem --arg s "$(nbd_sock mem)" '{socket: $s}'
  for c in bogus ZERO "" "dirty,zero"; do
    http "$BASE_URL/images/mem/extents?context=$c"
    expect_error 400 "context=$c"
  done
}

@test "holes over a backing chain: hole exactly where the top qcow2 has no data" {
  # API.md: hole is qemu:allocation-depth 0.  ImageIO exports one layer
  # of a chain with its backing cut off; there, depth 0 is exactly where
  # the layer has no data and a reader of the whole chain would read the
  # backing file.  Exported with the backing attached, those areas have
  # depth 2 (data from the backing file): not holes.
  I=$BATS_TEST_TMPDIR
  image_random "$I/base.raw" "$SIZE"
  qemu-img create -q -f qcow2 -b "$I/base.raw" -F raw "$I/top.qcow2" "$SIZE"
  qemu-io -f qcow2 -c 'write -P 0xaa 1M 1M' -c 'write -z 4M 512k' \
    -c 'write -P 0xbb 7M 64k' "$I/top.qcow2" >/dev/null
  layer="json:{\"driver\": \"qcow2\", \"backing\": null, \"file\": {\"driver\": \"file\", \"filename\": \"$I/top.qcow2\"}}"
  nbd_qemu layer -r -A -x top "$layer"
  transfer_json layer --arg u "$(nbd_uri layer top)" '{url: $u}'

  http "$BASE_URL/images/layer/extents"
  expect_extents_cover "$SIZE" "$ZKEYS"
  expect_json --argjson m "$MiB" '. == [
    {"start": 0, "length": $m, "zero": true, "hole": true},
    {"start": $m, "length": $m, "zero": false, "hole": false},
    {"start": (2 * $m), "length": (2 * $m), "zero": true, "hole": true},
    {"start": (4 * $m), "length": ($m / 2), "zero": true, "hole": false},
    {"start": (4.5 * $m), "length": (2.5 * $m), "zero": true, "hole": true},
    {"start": (7 * $m), "length": 65536, "zero": false, "hole": false},
    {"start": (7 * $m + 65536), "length": ($m - 65536), "zero": true, "hole": true}]'
  # The same as qemu-img map of the layer and as nbdinfo --map.
  expect_json --argjson e "$(map_expected "$layer")" '. == $e'
  expect_json --argjson e "$(nbd_expected_extents "$(nbd_uri layer top)" "$SIZE")" '. == $e'

  # The whole chain: the raw base provides every byte, so no holes, and
  # the data reads through.
  nbd_qemu chain -r -f qcow2 -A -x top "$I/top.qcow2"
  transfer_json chain --arg u "$(nbd_uri chain top)" '{url: $u}'
  http "$BASE_URL/images/chain/extents"
  expect_extents_cover "$SIZE" "$ZKEYS"
  expect_json 'all(.[]; .hole == false)'
  expect_json --argjson e "$(map_expected "$I/top.qcow2")" '. == $e'
  expect_json --argjson e "$(nbd_expected_extents "$(nbd_uri chain top)" "$SIZE")" '. == $e'
  qemu-img convert -U -f qcow2 -O raw "$I/top.qcow2" "$I/want.raw"
  http "$BASE_URL/images/chain"
  expect_status 200
  expect_body_is "$I/want.raw"
}

@test "no qemu:allocation-depth (qemu-nbd without -A): hole is false everywhere" {
  I=$BATS_TEST_TMPDIR
  image_random "$I/base.raw" "$SIZE"
  qemu-img create -q -f qcow2 -b "$I/base.raw" -F raw "$I/top.qcow2" "$SIZE"
  qemu-io -f qcow2 -c 'write -z 2M 1M' "$I/top.qcow2" >/dev/null
  nbd_qemu chain -f qcow2 "$I/top.qcow2"
  transfer_json chain --arg s "$(nbd_sock chain)" '{socket: $s}'
  http "$BASE_URL/images/chain/extents"
  expect_extents_cover "$SIZE" "$ZKEYS"
  expect_json --argjson m "$MiB" '. == [
    {"start": 0, "length": (2 * $m), "zero": false, "hole": false},
    {"start": (2 * $m), "length": $m, "zero": true, "hole": false},
    {"start": (3 * $m), "length": (5 * $m), "zero": false, "hole": false}]'
}

# A qcow2 with data on [0, 6M), a bitmap b0 added, then writes at
# [1M, 1M+64K) and [5M, 5M+128K): those are dirty, nothing else.
# Exported read-only (-r), as for a backup: qemu refuses an enabled
# bitmap on a writable export.
make_bitmap_image () {
  qemu-img create -q -f qcow2 "$1" "$SIZE"
  qemu-io -f qcow2 -c 'write -P 0x11 0 6M' "$1" >/dev/null
  qemu-img bitmap --add "$1" b0
  qemu-io -f qcow2 -c 'write -P 0x55 1M 64k' -c 'write -P 0x66 5M 128k' \
    "$1" >/dev/null
}

DIRTY_EXPECTED='. == [
  {"start": 0, "length": $m, "dirty": false, "zero": false},
  {"start": $m, "length": 65536, "dirty": true, "zero": false},
  {"start": ($m + 65536), "length": (4 * $m - 65536), "dirty": false, "zero": false},
  {"start": (5 * $m), "length": 131072, "dirty": true, "zero": false},
  {"start": (5 * $m + 131072), "length": ($m - 131072), "dirty": false, "zero": false},
  {"start": (6 * $m), "length": (2 * $m), "dirty": false, "zero": true}]'

@test "dirty extents from a qcow2 bitmap: export_bitmap (CloudStack) and dirty: true (ImageIO)" {
  I=$BATS_TEST_TMPDIR
  make_bitmap_image "$I/top.qcow2"
  nbd_qemu bm -r -f qcow2 -B b0 -A -x vda "$I/top.qcow2"
  transfer_json bm-cs --arg s "$(nbd_sock bm)" \
    '{socket: $s, export: "vda", export_bitmap: "b0"}'
  transfer_json bm-imageio --arg u "nbd:unix:$(nbd_sock bm):exportname=vda" \
    '{url: $u, dirty: true}'
  nbdinfo_dirty=$(dirty_ranges_nbdinfo "$(nbd_uri bm vda)" b0)
  expect_eq "$nbdinfo_dirty" "[[1048576,65536],[5242880,131072]]" "nbdinfo --map dirty ranges"

  for id in bm-cs bm-imageio; do
    http "$BASE_URL/images/$id/extents?context=dirty"
    expect_extents_cover "$SIZE" "$DKEYS"
    expect_json --argjson m "$MiB" "$DIRTY_EXPECTED"
    expect_eq "$(dirty_ranges_body)" "$nbdinfo_dirty" "$id: dirty ranges vs nbdinfo"
    # The zero context of the same transfer is unaffected by the bitmap.
    http "$BASE_URL/images/$id/extents"
    expect_extents_cover "$SIZE" "$ZKEYS"
    expect_json --argjson e "$(nbd_expected_extents "$(nbd_uri bm vda)" "$SIZE")" '. == $e'
  done
}

@test "no bitmap: context=dirty answers the allocation extents, all dirty" {
  I=$BATS_TEST_TMPDIR
  image_sparse "$I/d.raw" "$SIZE"
  head -c "$MiB" /dev/urandom | write_at "$I/d.raw" "$MiB" /dev/stdin
  nbd_qemu plain -f raw "$I/d.raw"
  transfer_json plain --arg s "$(nbd_sock plain)" '{socket: $s}'
  transfer_json plain-dirty --arg u "$(nbd_uri plain)" '{url: $u, dirty: true}'
  transfer_json plain-named --arg s "$(nbd_sock plain)" '{socket: $s, export_bitmap: "b0"}'
  for id in plain plain-dirty plain-named; do
    http "$BASE_URL/images/$id/extents?context=dirty"
    expect_extents_cover "$SIZE" "$DKEYS"
    expect_json --argjson m "$MiB" '. == [
      {"start": 0, "length": $m, "dirty": true, "zero": true},
      {"start": $m, "length": $m, "dirty": true, "zero": false},
      {"start": (2 * $m), "length": (6 * $m), "dirty": true, "zero": true}]'
  done
}

@test "a 4 TiB sparse export (nbdkit memory 4T): extents within 60 s, exact" {
  T4=4398046511104
  nbd_kit big memory 4T
  transfer_json big --arg s "$(nbd_sock big)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/p" 65536
  for off in 0 2199023255552 $((T4 - 65536)); do
    http -T "$BATS_TEST_TMPDIR/p" -H "Content-Range: bytes $off-$((off + 65535))/*" \
      "$BASE_URL/images/big"
    expect_status 200 "PUT at $off"
  done
  http --max-time 60 "$BASE_URL/images/big/extents"
  expect_extents_cover "$T4" "$ZKEYS"
  expect_json --argjson t "$T4" '. == [
    {"start": 0, "length": 65536, "zero": false, "hole": false},
    {"start": 65536, "length": ($t / 2 - 65536), "zero": true, "hole": false},
    {"start": ($t / 2), "length": 65536, "zero": false, "hole": false},
    {"start": ($t / 2 + 65536), "length": ($t / 2 - 131072), "zero": true, "hole": false},
    {"start": ($t - 65536), "length": 65536, "zero": false, "hole": false}]'
  http --max-time 60 "$BASE_URL/images/big/extents?context=dirty"
  expect_extents_cover "$T4" "$DKEYS"
  expect_json 'length == 5 and all(.[]; .dirty)'
}

@test "a 4 TiB qcow2 with a bitmap: zero and dirty extents within 60 s, exact" {
  I=$BATS_TEST_TMPDIR
  T4=4398046511104
  qemu-img create -q -f qcow2 "$I/big.qcow2" 4T
  qemu-io -f qcow2 -c 'write -P 0x11 1G 1M' "$I/big.qcow2" >/dev/null
  qemu-img bitmap --add "$I/big.qcow2" b0
  qemu-io -f qcow2 -c 'write -P 0x22 3T 64k' "$I/big.qcow2" >/dev/null
  nbd_qemu big -r -f qcow2 -A -B b0 "$I/big.qcow2"
  transfer_json big --arg s "$(nbd_sock big)" '{socket: $s, export_bitmap: "b0"}'
  G=1073741824
  T3=3298534883328

  http --max-time 60 "$BASE_URL/images/big/extents"
  expect_extents_cover "$T4" "$ZKEYS"
  expect_json --argjson e "$(map_expected "$I/big.qcow2")" '. == $e'
  expect_json --argjson g "$G" --argjson t3 "$T3" --argjson t "$T4" '. == [
    {"start": 0, "length": $g, "zero": true, "hole": true},
    {"start": $g, "length": 1048576, "zero": false, "hole": false},
    {"start": ($g + 1048576), "length": ($t3 - $g - 1048576), "zero": true, "hole": true},
    {"start": $t3, "length": 65536, "zero": false, "hole": false},
    {"start": ($t3 + 65536), "length": ($t - $t3 - 65536), "zero": true, "hole": true}]'

  http --max-time 60 "$BASE_URL/images/big/extents?context=dirty"
  expect_extents_cover "$T4" "$DKEYS"
  expect_json --argjson g "$G" --argjson t3 "$T3" --argjson t "$T4" '. == [
    {"start": 0, "length": $g, "dirty": false, "zero": true},
    {"start": $g, "length": 1048576, "dirty": false, "zero": false},
    {"start": ($g + 1048576), "length": ($t3 - $g - 1048576), "dirty": false, "zero": true},
    {"start": $t3, "length": 65536, "dirty": true, "zero": false},
    {"start": ($t3 + 65536), "length": ($t - $t3 - 65536), "dirty": false, "zero": true}]'
}

# An export of 12 GiB (four block status commands in flight) whose
# server describes 768 MiB per answer at most, alternating zero and
# data: every command is answered short and asked again from where its
# answer stopped, also across the ends of the commands (4 GiB less
# 1 MiB apart), which are not on the 768 MiB grid.
short_answers_kit () {
  nbd_kit "$1" eval \
    get_size='echo 12884901888' \
    pread='dd if=/dev/zero count=$3 iflag=count_bytes status=none' \
    can_extents='exit 0' \
    extents='p=805306368; n=$(($4 / p)); t=; [ $((n % 2)) = 1 ] || t=hole,zero
             echo $4 $(((n + 1) * p - $4)) $t'
}

@test "a server that describes less than asked: exact across the commands in flight" {
  short_answers_kit short
  transfer_json short --arg s "$(nbd_sock short)" '{socket: $s, ops: ["read"]}'
  P=805306368
  nbdinfo_map=$(nbdinfo --map --json "$(nbd_uri short)" | jq -c '[.[] | [.offset, .length, .type]]')
  expect_eq "$(jq -nc --argjson p "$P" '[range(16) as $i | [$i * $p, $p, (if $i % 2 == 0 then 3 else 0 end)]]')" \
    "$nbdinfo_map" "nbdinfo --map of the eval export"

  http "$BASE_URL/images/short/extents"
  expect_extents_cover $((16 * P)) "$ZKEYS"
  expect_json --argjson p "$P" '. == [range(16) as $i
    | {"start": ($i * $p), "length": $p, "zero": ($i % 2 == 0), "hole": false}]'
  http "$BASE_URL/images/short/extents?context=dirty"
  expect_extents_cover $((16 * P)) "$DKEYS"
  expect_json --argjson p "$P" '. == [range(16) as $i
    | {"start": ($i * $p), "length": $p, "dirty": true, "zero": ($i % 2 == 0)}]'
}

@test "a dirty bitmap across the ends of the commands in flight: zero and dirty extents exact" {
  I=$BATS_TEST_TMPDIR
  G=1073741824
  K=65536
  # Where the first and second block status commands end.
  B1=$((4 * G - MiB))
  B2=$((8 * G - 2 * MiB))
  S=$((16 * G))
  qemu-img create -q -f qcow2 "$I/edges.qcow2" 16G
  qemu-io -f qcow2 -c "write -P 0x11 0 1M" "$I/edges.qcow2" >/dev/null
  qemu-img bitmap --add "$I/edges.qcow2" b0
  qemu-io -f qcow2 -c "write -P 0x22 $((B1 - K)) 128k" \
    -c "write -P 0x33 $((B2 - K)) 128k" "$I/edges.qcow2" >/dev/null
  nbd_qemu edges -r -f qcow2 -A -B b0 "$I/edges.qcow2"
  transfer_json edges --arg s "$(nbd_sock edges)" '{socket: $s, export_bitmap: "b0"}'
  expect_eq "$(dirty_ranges_nbdinfo "$(nbd_uri edges)" b0)" \
    "[[$((B1 - K)),131072],[$((B2 - K)),131072]]" "nbdinfo --map dirty ranges"

  http "$BASE_URL/images/edges/extents?context=dirty"
  expect_extents_cover "$S" "$DKEYS"
  expect_json --argjson m "$MiB" --argjson k "$K" --argjson b1 "$B1" \
    --argjson b2 "$B2" --argjson s "$S" '. == [
    {"start": 0, "length": $m, "dirty": false, "zero": false},
    {"start": $m, "length": ($b1 - $k - $m), "dirty": false, "zero": true},
    {"start": ($b1 - $k), "length": (2 * $k), "dirty": true, "zero": false},
    {"start": ($b1 + $k), "length": ($b2 - $b1 - 2 * $k), "dirty": false, "zero": true},
    {"start": ($b2 - $k), "length": (2 * $k), "dirty": true, "zero": false},
    {"start": ($b2 + $k), "length": ($s - $b2 - $k), "dirty": false, "zero": true}]'

  http "$BASE_URL/images/edges/extents"
  expect_extents_cover "$S" "$ZKEYS"
  expect_json --argjson e "$(map_expected "$I/edges.qcow2")" '. == $e'
  expect_json --argjson m "$MiB" --argjson k "$K" --argjson b1 "$B1" \
    --argjson b2 "$B2" --argjson s "$S" '. == [
    {"start": 0, "length": $m, "zero": false, "hole": false},
    {"start": $m, "length": ($b1 - $k - $m), "zero": true, "hole": true},
    {"start": ($b1 - $k), "length": (2 * $k), "zero": false, "hole": false},
    {"start": ($b1 + $k), "length": ($b2 - $b1 - 2 * $k), "zero": true, "hole": true},
    {"start": ($b2 - $k), "length": (2 * $k), "zero": false, "hole": false},
    {"start": ($b2 + $k), "length": ($s - $b2 - $k), "zero": true, "hole": true}]'
}

# many_extents_kit NAME SIZE: an export of SIZE bytes in extents of
# 4 KiB, data and holes in turn, described at most 64 MiB (16,384
# extents) per block status reply.
many_extents_kit () {
  nbd_kit "$1" eval \
    get_size="echo $2" \
    pread='dd if=/dev/zero count=$3 iflag=count_bytes status=none' \
    can_extents='exit 0' \
    extents='awk -v c="$3" -v o="$4" "BEGIN {
      e = o + c; if (e > o + 67108864) e = o + 67108864
      for (x = o - o % 4096; x < e; x += 4096) {
        s = x < o ? o : x   # %.0f: mawk prints %d in 32 bits
        printf \"%.0f %.0f %s\n\", s, x + 4096 - s, (x / 4096) % 2 ? \"hole,zero\" : \"\"
      } }"'
}

# peak_worker_rss_kib: the largest peak resident size (VmHWM) of the
# workers, in KiB.
peak_worker_rss_kib () {
  local pid peak=0 hwm
  for pid in $(fcgi_worker_pids); do
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    (( ${hwm:-0} > peak )) && peak=$hwm
  done
  echo "$peak"
}

@test "an export of a quarter million extents: exact across the calls that describe it in parts" {
  many_extents_kit many 1073741824
  transfer_json many --arg s "$(nbd_sock many)" '{socket: $s, ops: ["read"]}'
  http "$BASE_URL/images/many/extents"
  expect_status 200
  expect_json '. == [range(262144) as $i
    | {"start": ($i * 4096), "length": 4096, "zero": ($i % 2 == 1), "hole": false}]'
  nbd_stop many
}

@test "a million extents (4 GiB of 4 KiB): the worker's memory stays small" {
  [ -z "${ASAN_OPTIONS:-}" ] \
    || skip "a sanitizer build's memory (shadow, quarantine) is not the release's"
  local before after
  many_extents_kit million 4294967296
  transfer_json million --arg s "$(nbd_sock million)" '{socket: $s, ops: ["read"]}'
  before=$(peak_worker_rss_kib)
  http "$BASE_URL/images/million/extents"
  expect_status 200
  after=$(peak_worker_rss_kib)
  expect_json 'length == 1048576 and .[0] == {"start": 0, "length": 4096, "zero": false, "hole": false}
    and .[-1] == {"start": 4294963200, "length": 4096, "zero": true, "hole": false}'
  echo "# peak RSS of the workers: $before KiB before, $after KiB after" >&3
  # A list of a million extents is 24 MiB, and a call held two before
  # it was cut into parts of 65,536.
  (( after < 24 * 1024 )) || fail "a worker's peak RSS reached $after KiB"
  nbd_stop million
}
