#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Size and concurrency on /images (API.md section 2): a sparse transfer
# past 2 GiB and 4 GiB (64-bit offsets all the way through lighttpd,
# FastCGI and the backend), and parallel ranged writers plus readers.

bats_require_minimum_version 1.5.0

load helpers
load expect

G=1073741824
SIZE=$(( 5 * 1073741824 ))          # 5 GiB
DATA1=$(( 5 * 1073741824 / 2 ))     # 2.5 GiB
DATA2=$(( 4 * 1073741824 - 524288 )) # straddles 4 GiB

setup_file () {
  # 8 writers and 4 readers at once on one transfer: above the default
  # per-transfer caps (one less than the workers), which would answer
  # some of them 503.
  stack_start --workers 4 --conf-extra "max_readers = 12" \
    --conf-extra "max_writers = 12"
  image_sparse "$IMAGES/big.raw" "$SIZE"
  head -c 1M /dev/urandom > "$BATS_FILE_TMPDIR/d1"
  head -c 1M /dev/urandom > "$BATS_FILE_TMPDIR/d2"
  write_at "$IMAGES/big.raw" "$DATA1" "$BATS_FILE_TMPDIR/d1"
  write_at "$IMAGES/big.raw" "$DATA2" "$BATS_FILE_TMPDIR/d2"
  file_transfer big "$IMAGES/big.raw"
}

teardown_file () {
  stack_stop
}

@test "HEAD of a 5 GiB transfer: exact size" {
  http -I "$BASE_URL/images/big"
  expect_status 200
  expect_header Content-Length "$SIZE"
  expect_header Accept-Ranges bytes
  http -X OPTIONS "$BASE_URL/images/big"
  expect_status 200
}

@test "ranged GETs across 2 GiB, into the data at 2.5 GiB, across 4 GiB" {
  ranged_get big "$IMAGES/big.raw" $(( 2 * G - 4096 )) $(( 2 * G + 4095 ))
  ranged_get big "$IMAGES/big.raw" $(( 2 * G - 1 )) $(( 2 * G ))
  ranged_get big "$IMAGES/big.raw" $(( DATA1 - 1000 )) $(( DATA1 + 70000 ))
  ranged_get big "$IMAGES/big.raw" $(( DATA1 + 1048576 - 5 )) $(( DATA1 + 1048576 + 5 ))
  ranged_get big "$IMAGES/big.raw" $(( 4 * G - 65537 )) $(( 4 * G + 65535 ))
  ranged_get big "$IMAGES/big.raw" $(( 4 * G - 1 )) $(( 4 * G ))
  ranged_get big "$IMAGES/big.raw" $(( DATA2 )) $(( DATA2 + 1048575 ))
}

@test "suffix and open ranges at the end of 5 GiB; 416 at SIZE" {
  http -H 'Range: bytes=-100' "$BASE_URL/images/big"
  expect_status 206
  expect_header Content-Range "bytes $(( SIZE - 100 ))-$(( SIZE - 1 ))/$SIZE"
  http -H "Range: bytes=$(( SIZE - 7 ))-" "$BASE_URL/images/big"
  expect_status 206
  expect_header Content-Range "bytes $(( SIZE - 7 ))-$(( SIZE - 1 ))/$SIZE"
  http -H "Range: bytes=$SIZE-" "$BASE_URL/images/big"
  expect_status 416
  expect_header Content-Range "bytes */$SIZE"
}

@test "extents of the 5 GiB sparse file: exact" {
  http "$BASE_URL/images/big/extents"
  expect_status 200
  expect_json --argjson d1 "$DATA1" --argjson d2 "$DATA2" --argjson size "$SIZE" '. == [
    {"start": 0, "length": $d1, "zero": true, "hole": false},
    {"start": $d1, "length": 1048576, "zero": false, "hole": false},
    {"start": ($d1 + 1048576), "length": ($d2 - $d1 - 1048576), "zero": true, "hole": false},
    {"start": $d2, "length": 1048576, "zero": false, "hole": false},
    {"start": ($d2 + 1048576), "length": ($size - $d2 - 1048576), "zero": true, "hole": false}]'
}

@test "extents of a 1 TiB sparse file are fast" {
  image_sparse "$IMAGES/tera.raw" 1T || skip "the test filesystem cannot hold a 1 TiB sparse file"
  file_transfer tera "$IMAGES/tera.raw"
  local t0=$SECONDS
  http "$BASE_URL/images/tera/extents"
  expect_status 200
  expect_json '. == [{"start": 0, "length": 1099511627776, "zero": true, "hole": false}]'
  (( SECONDS - t0 <= 5 )) || fail "extents of 1 TiB took $((SECONDS - t0)) s"
  rm -f "$IMAGES/tera.raw"
}

@test "ranged PUTs beyond 2 GiB and across 4 GiB are byte-exact" {
  local p1=$BATS_TEST_TMPDIR/p1 p2=$BATS_TEST_TMPDIR/p2
  local a1=$(( 3 * G + 12345 )) a2=$(( 4 * G - 33333 ))
  head -c 100001 /dev/urandom > "$p1"
  head -c 70000 /dev/urandom > "$p2"
  http -T "$p1" -H "Content-Range: bytes $a1-$(( a1 + 100000 ))/*" "$BASE_URL/images/big"
  expect_status 200
  expect_json '. == {"ok": true, "bytes_written": 100001, "flushed": true}'
  http -T "$p2" -H "Content-Range: bytes $a2-*/$SIZE" "$BASE_URL/images/big?flush=n"
  expect_status 200
  expect_json '.bytes_written == 70000'
  cmp "$p1" <(extract "$IMAGES/big.raw" "$a1" 100001) || fail "p1 on disk"
  cmp "$p2" <(extract "$IMAGES/big.raw" "$a2" 70000) || fail "p2 on disk"
  http -H "Range: bytes=$a2-$(( a2 + 69999 ))" "$BASE_URL/images/big"
  expect_status 206
  cmp "$STACK_DIR/body" "$p2"
  # Around them still what it was.
  cmp <(extract "$IMAGES/big.raw" $(( a1 - 4096 )) 4096) <(head -c 4096 /dev/zero)
  cmp <(extract "$IMAGES/big.raw" $(( a1 + 100001 )) 4096) <(head -c 4096 /dev/zero)
  expect_eq "$(stat -c %s "$IMAGES/big.raw")" "$SIZE" "file size"
  # The last byte, and one past it.
  printf x > "$BATS_TEST_TMPDIR/x"
  printf xy > "$BATS_TEST_TMPDIR/xy"
  http -T "$BATS_TEST_TMPDIR/x" -H "Content-Range: bytes $(( SIZE - 1 ))-$(( SIZE - 1 ))/*" \
    "$BASE_URL/images/big"
  expect_status 200
  expect_eq "$(extract "$IMAGES/big.raw" $(( SIZE - 1 )) 1)" x "last byte"
  http -T "$BATS_TEST_TMPDIR/xy" -H "Content-Range: bytes $(( SIZE - 1 ))-$SIZE/*" \
    "$BASE_URL/images/big"
  expect_status 416
  expect_eq "$(stat -c %s "$IMAGES/big.raw")" "$SIZE" "file size"
}

@test "PATCH zero beyond 4 GiB" {
  http -X PATCH -H 'Content-Type: application/json' \
    --data-binary "{\"op\": \"zero\", \"offset\": $(( DATA2 + 600000 )), \"size\": 4096}" \
    "$BASE_URL/images/big"
  expect_status 200
  cmp <(extract "$IMAGES/big.raw" $(( DATA2 + 600000 )) 4096) <(head -c 4096 /dev/zero)
  cmp <(extract "$IMAGES/big.raw" $(( DATA2 + 600000 + 4096 )) 1000) \
      <(extract "$BATS_FILE_TMPDIR/d2" $(( 600000 + 4096 )) 1000)
}

@test "8 parallel ranged writers and 4 readers on one transfer: final image exact" {
  local T=$BATS_TEST_TMPDIR total=$(( 16 * 1048576 + 12345 ))
  head -c "$total" /dev/urandom > "$T/src"
  image_sparse "$IMAGES/par.raw" "$total"
  file_transfer par "$IMAGES/par.raw"
  # Distinct pieces of 1..4 MiB (odd boundaries) covering the image.
  local starts=(0 1048576 3145728 3150001 6291456 10485760 11534336 14680064)
  local i start end pids=()
  for i in "${!starts[@]}"; do
    start=${starts[$i]}
    if (( i + 1 < ${#starts[@]} )); then end=$(( starts[i + 1] - 1 )); else end=$(( total - 1 )); fi
    extract "$T/src" "$start" $(( end - start + 1 )) > "$T/piece$i"
    curl -sS -o "$T/w$i.body" -w '%{http_code}' -T "$T/piece$i" \
      -H "Content-Range: bytes $start-$end/*" "$BASE_URL/images/par" \
      > "$T/w$i.code" 2> "$T/w$i.err" &
    pids+=($!)
  done
  for i in 0 1 2 3; do
    curl -sS -o "$T/r$i.body" -w '%{http_code}' -r "$(( i * 4000000 ))-$(( i * 4000000 + 999999 ))" \
      "$BASE_URL/images/par" > "$T/r$i.code" 2> "$T/r$i.err" &
    pids+=($!)
  done
  local rc=0
  for i in "${pids[@]}"; do
    wait "$i" || rc=1
  done
  (( rc == 0 )) || fail "a curl failed: $(cat "$T"/*.err)"
  for i in "${!starts[@]}"; do
    expect_eq "$(cat "$T/w$i.code")" 200 "writer $i"
    jq -e --argjson n "$(stat -c %s "$T/piece$i")" \
      '. == {"ok": true, "bytes_written": $n, "flushed": true}' "$T/w$i.body" >/dev/null ||
      fail "writer $i body: $(cat "$T/w$i.body")"
  done
  for i in 0 1 2 3; do
    expect_eq "$(cat "$T/r$i.code")" 206 "reader $i"
    expect_eq "$(stat -c %s "$T/r$i.body")" 1000000 "reader $i bytes"
  done
  cmp "$IMAGES/par.raw" "$T/src"
  http "$BASE_URL/images/par"
  expect_status 200
  cmp "$STACK_DIR/body" "$T/src"
}
