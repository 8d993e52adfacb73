#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Every /images route on NBD exports (API.md sections 1-2): qemu-nbd
# serving a raw file and a qcow2 image, reached through each descriptor
# form; the export read back with nbdcopy (libnbd, not the stack).

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

SIZE=8388608            # 8 MiB: several chunks and pipelined pieces
CLIP=3145733            # the "clip" transfer: 3 MiB + 5 of the raw export
MiB=1048576

setup_file () {
  for t in qemu-nbd qemu-img nbdkit nbdcopy nbdinfo jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  stack_start --workers 2
  image_random "$IMAGES/raw.img" "$SIZE"
  nbd_qemu raw -f raw -x disk "$IMAGES/raw.img"
  image_random "$IMAGES/tcp.img" "$SIZE"
  nbd_qemu_tcp tcp -f raw -x disk "$IMAGES/tcp.img"
  echo "$NBD_PORT" > "$STACK_DIR/tcp.port"
  qemu-img create -q -f qcow2 "$IMAGES/q.qcow2" "$SIZE"
  nbd_qemu qcow -f qcow2 -x disk "$IMAGES/q.qcow2"
  image_random "$IMAGES/ro.img" "$SIZE"
  nbd_qemu ro -r -f raw -x disk "$IMAGES/ro.img"
  nbd_kit rokit -r memory 1M

  local raw qcow
  raw=$(nbd_sock raw)
  qcow=$(nbd_sock qcow)
  transfer_json raw-uri --arg u "$(nbd_uri raw disk)" '{url: $u}'
  transfer_json raw-imageio --arg u "nbd:unix:$raw:exportname=disk" '{url: $u}'
  transfer_json raw-cs --arg s "$raw" '{socket: $s, export: "disk"}'
  transfer_json raw-tcp --arg u "nbd://127.0.0.1:$NBD_PORT/disk" '{url: $u}'
  transfer_json raw-tcp-imageio --arg u "nbd:127.0.0.1:$NBD_PORT:exportname=disk" \
    '{url: $u}'
  transfer_json qcow --arg u "$(nbd_uri qcow disk)" '{url: $u}'
  transfer_json qcow-cs --arg s "$qcow" '{socket: $s, export: "disk"}'
  transfer_json clip --arg u "$(nbd_uri raw disk)" --argjson n "$CLIP" \
    '{url: $u, size: $n}'
  transfer_json ro --arg u "$(nbd_uri ro disk)" '{url: $u}'
  transfer_json rokit --arg s "$(nbd_sock rokit)" '{socket: $s}'
  transfer_json ro-ops --arg u "$(nbd_uri raw disk)" '{url: $u, ops: ["read"]}'
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require qemu-nbd qemu-img nbdkit nbdcopy nbdinfo jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

# The writable transfers, every descriptor form, and the URI of the
# export each one reaches (for reading it back outside the stack).
WRITABLE="raw-uri raw-imageio raw-cs raw-tcp raw-tcp-imageio qcow qcow-cs"
uri_of () {
  case $1 in
    raw-*|clip|ro-ops)
      case $1 in
        raw-tcp*) echo "nbd://127.0.0.1:$(cat "$STACK_DIR/tcp.port")/disk" ;;
        *) nbd_uri raw disk ;;
      esac ;;
    qcow*) nbd_uri qcow disk ;;
    ro) nbd_uri ro disk ;;
  esac
}

# fresh ID: new random content in ID's export, written with nbdcopy;
# the content is left in $BATS_TEST_TMPDIR/ID.ref.
fresh () {
  image_random "$BATS_TEST_TMPDIR/$1.ref" "$SIZE"
  nbd_write_from "$BATS_TEST_TMPDIR/$1.ref" "$(uri_of "$1")"
}

# expect_export ID: the export behind ID holds exactly ID.ref.
expect_export () {
  nbd_read_back "$(uri_of "$1")" "$BATS_TEST_TMPDIR/$1.back"
  cmp "$BATS_TEST_TMPDIR/$1.ref" "$BATS_TEST_TMPDIR/$1.back" >&2 \
    || fail "$1: the export differs from what was written"
}

@test "OPTIONS on a writable export: every feature, Allow with PUT, each descriptor form" {
  for id in $WRITABLE; do
    http -X OPTIONS "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_header Content-Type application/json
    expect_json '.features == ["extents", "checksum", "zero", "flush"]
                 and .max_readers > 0 and .max_writers > 0
                 and .unix_socket == null'
    expect_header Allow "OPTIONS, GET, HEAD, PUT, PATCH, POST"
    expect_header Access-Control-Allow-Methods "OPTIONS, GET, HEAD, PUT, PATCH, POST"
  done
}

@test "GET full is byte-exact with exact headers, each descriptor form" {
  for id in $WRITABLE; do
    fresh "$id"
    http "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_header Content-Length "$SIZE"
    expect_header Content-Type application/octet-stream
    expect_header Accept-Ranges bytes
    expect_body_is "$BATS_TEST_TMPDIR/$id.ref"
  done
}

@test "HEAD: Content-Length is the export size, no body" {
  for id in raw-uri raw-tcp qcow; do
    http -I "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_header Content-Length "$SIZE"
    expect_header Accept-Ranges bytes
    # curl -I puts the headers where the body would go: nothing else.
    cmp "$STACK_DIR/body" "$STACK_DIR/headers" || fail "HEAD sent a body"
  done
}

@test "GET ranged: 206 byte-exact, every range form, across chunk boundaries" {
  for id in raw-uri raw-cs raw-tcp qcow; do
    fresh "$id"
    ref=$BATS_TEST_TMPDIR/$id.ref
    # first, last byte (inclusive), expected length
    while read -r spec a len; do
      http -H "Range: bytes=$spec" "$BASE_URL/images/$id"
      expect_status 206 "$id $spec"
      expect_header Content-Length "$len"
      expect_header Content-Range "bytes $a-$((a + len - 1))/$SIZE"
      extract "$ref" "$a" "$len" > "$BATS_TEST_TMPDIR/want"
      expect_body_is "$BATS_TEST_TMPDIR/want"
    done <<EOF
0-0 0 1
1000-5000999 1000 5000000
4194303-4194304 4194303 2
7340032- 7340032 1048576
-12345 $((SIZE - 12345)) 12345
8000000-99999999 8000000 388608
EOF
    http -H "Range: bytes=$SIZE-" "$BASE_URL/images/$id"
    expect_error 416 "$id past the end"
    expect_header Content-Range "bytes */$SIZE"
  done
}

@test "PUT full: 200, exact body, the export holds the bytes (nbdcopy)" {
  for id in $WRITABLE; do
    image_random "$BATS_TEST_TMPDIR/$id.ref" "$SIZE"
    http -T "$BATS_TEST_TMPDIR/$id.ref" "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_header Content-Type application/json
    expect_json --argjson n "$SIZE" '. == {"ok": true, "bytes_written": $n, "flushed": true}'
    expect_export "$id"
  done
}

@test "PUT with Content-Range writes at the offset only; flush=n reports flushed false" {
  for id in raw-uri raw-imageio raw-tcp qcow qcow-cs; do
    fresh "$id"
    image_random "$BATS_TEST_TMPDIR/piece" 777777
    a=1234567
    http -T "$BATS_TEST_TMPDIR/piece" \
      -H "Content-Range: bytes $a-$((a + 777777 - 1))/$SIZE" \
      "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_json '. == {"ok": true, "bytes_written": 777777, "flushed": true}'
    write_at "$BATS_TEST_TMPDIR/$id.ref" "$a" "$BATS_TEST_TMPDIR/piece"
    expect_export "$id"

    # The last bytes, B and TOTAL as "*", flush deferred.
    image_random "$BATS_TEST_TMPDIR/tail" 4096
    http -T "$BATS_TEST_TMPDIR/tail" -H "Content-Range: bytes $((SIZE - 4096))-*/*" \
      "$BASE_URL/images/$id?flush=n"
    expect_status 200 "$id flush=n"
    expect_json '. == {"ok": true, "bytes_written": 4096, "flushed": false}'
    write_at "$BATS_TEST_TMPDIR/$id.ref" $((SIZE - 4096)) "$BATS_TEST_TMPDIR/tail"
    expect_export "$id"

    # One byte past the end: 416, nothing written.
    http -T "$BATS_TEST_TMPDIR/tail" -H "Content-Range: bytes $((SIZE - 4095))-$SIZE/*" \
      "$BASE_URL/images/$id"
    expect_error 416 "$id past the end"
    expect_export "$id"
  done
}

@test "PATCH ranged binary write (CloudStack) is byte-exact" {
  for id in raw-cs qcow-cs; do
    fresh "$id"
    image_random "$BATS_TEST_TMPDIR/piece" 65536
    http -X PATCH --data-binary "@$BATS_TEST_TMPDIR/piece" \
      -H "Content-Type: application/octet-stream" \
      -H "Range: bytes=2097152-2162687" "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_json '.ok == true'
    write_at "$BATS_TEST_TMPDIR/$id.ref" 2097152 "$BATS_TEST_TMPDIR/piece"
    expect_export "$id"
  done
}

@test "PATCH zero: the range reads as zeroes, the rest is intact, extents show it" {
  for id in raw-uri raw-tcp qcow; do
    fresh "$id"
    http -X PATCH -H "Content-Type: application/json" \
      --data '{"op": "zero", "offset": 1048576, "size": 2097152}' \
      "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_header Content-Type application/json
    expect_json '.ok == true'
    head -c 2097152 /dev/zero > "$BATS_TEST_TMPDIR/zeroes"
    write_at "$BATS_TEST_TMPDIR/$id.ref" "$MiB" "$BATS_TEST_TMPDIR/zeroes"
    expect_export "$id"

    http -H "Range: bytes=1048576-3145727" "$BASE_URL/images/$id"
    expect_status 206
    expect_body_is "$BATS_TEST_TMPDIR/zeroes"

    # The data was written fully allocated: exactly three extents.
    http "$BASE_URL/images/$id/extents"
    expect_extents_cover "$SIZE" '["hole", "length", "start", "zero"]'
    expect_json --argjson m "$MiB" '. == [
      {"start": 0, "length": $m, "zero": false, "hole": false},
      {"start": $m, "length": (2 * $m), "zero": true, "hole": false},
      {"start": (3 * $m), "length": (5 * $m), "zero": false, "hole": false}]'
    # ... and it is what the server itself says (nbdinfo --map).
    expected=$(nbd_expected_extents "$(uri_of "$id")" "$SIZE")
    expect_json --argjson e "$expected" '. == $e'
  done
}

@test "PATCH zero with flush, the whole image, and a zero past the end (416)" {
  id=qcow
  fresh "$id"
  http -X PATCH -H "Content-Type: application/json" \
    --data "{\"op\": \"zero\", \"size\": $SIZE, \"flush\": true}" \
    "$BASE_URL/images/$id"
  expect_status 200
  image_sparse "$BATS_TEST_TMPDIR/$id.ref" "$SIZE"
  expect_export "$id"
  http "$BASE_URL/images/$id/extents"
  expect_json --argjson n "$SIZE" '. == [{"start": 0, "length": $n, "zero": true, "hole": false}]'

  http -X PATCH -H "Content-Type: application/json" \
    --data "{\"op\": \"zero\", \"offset\": 4096, \"size\": $SIZE}" \
    "$BASE_URL/images/$id"
  expect_error 416
}

@test "flush: PATCH {op: flush} and POST /flush answer {ok: true}" {
  for id in raw-uri raw-imageio raw-cs raw-tcp qcow; do
    http -X PATCH -H "Content-Type: application/json" --data '{"op": "flush"}' \
      "$BASE_URL/images/$id"
    expect_status 200 "$id PATCH flush"
    expect_json '. == {"ok": true}'
    http -X POST --data "" "$BASE_URL/images/$id/flush"
    expect_status 200 "$id POST flush"
    expect_header Content-Type application/json
    expect_json '. == {"ok": true}'
  done
}

@test "size clipped to the descriptor: HEAD, GET, ranges, PUT and extents stop at size" {
  fresh raw-uri
  ref=$BATS_TEST_TMPDIR/raw-uri.ref
  http -I "$BASE_URL/images/clip"
  expect_status 200
  expect_header Content-Length "$CLIP"

  http "$BASE_URL/images/clip"
  expect_status 200
  expect_header Content-Length "$CLIP"
  extract "$ref" 0 "$CLIP" > "$BATS_TEST_TMPDIR/want"
  expect_body_is "$BATS_TEST_TMPDIR/want"

  http -H "Range: bytes=3145700-" "$BASE_URL/images/clip"
  expect_status 206
  expect_header Content-Range "bytes 3145700-$((CLIP - 1))/$CLIP"
  extract "$ref" 3145700 33 > "$BATS_TEST_TMPDIR/want"
  expect_body_is "$BATS_TEST_TMPDIR/want"

  http -H "Range: bytes=$CLIP-" "$BASE_URL/images/clip"
  expect_error 416
  expect_header Content-Range "bytes */$CLIP"

  printf 'abcdefgh' > "$BATS_TEST_TMPDIR/eight"
  http -T "$BATS_TEST_TMPDIR/eight" -H "Content-Range: bytes $((CLIP - 4))-$((CLIP + 3))/*" \
    "$BASE_URL/images/clip"
  expect_error 416
  expect_export raw-uri

  http "$BASE_URL/images/clip/extents"
  expect_extents_cover "$CLIP" '["hole", "length", "start", "zero"]'
  expect_json --argjson n "$CLIP" '. == [{"start": 0, "length": $n, "zero": false, "hole": false}]'
}

@test "read-only exports (qemu-nbd -r, nbdkit -r): OPTIONS shows it, writes are 403" {
  for id in ro rokit; do
    http -X OPTIONS "$BASE_URL/images/$id"
    expect_status 200 "$id"
    expect_json '.features == ["extents", "checksum"] and .max_writers == 0'
    expect_header Allow "OPTIONS, GET, HEAD"
    expect_header Access-Control-Allow-Methods "OPTIONS, GET, HEAD"

    printf 'abcdefgh' > "$BATS_TEST_TMPDIR/eight"
    http -T "$BATS_TEST_TMPDIR/eight" "$BASE_URL/images/$id"
    expect_error 403 "$id PUT"
    http -X PATCH -H "Content-Type: application/json" \
      --data '{"op": "zero", "size": 4096}' "$BASE_URL/images/$id"
    expect_error 403 "$id PATCH zero"
    http -X PATCH -H "Content-Type: application/json" --data '{"op": "flush"}' \
      "$BASE_URL/images/$id"
    expect_error 403 "$id PATCH flush"
    http -X POST --data "" "$BASE_URL/images/$id/flush"
    expect_error 403 "$id POST flush"
  done
  # Nothing was written, and reads still work.
  http "$BASE_URL/images/ro"
  expect_status 200
  expect_body_is "$IMAGES/ro.img"
  http "$BASE_URL/images/rokit"
  expect_status 200
  expect_header Content-Length 1048576
  head -c 1048576 /dev/zero > "$BATS_TEST_TMPDIR/zeroes"
  expect_body_is "$BATS_TEST_TMPDIR/zeroes"
}

@test "a read-only transfer (ops [read]) on a writable export: 403, export untouched" {
  fresh raw-uri
  http -X OPTIONS "$BASE_URL/images/ro-ops"
  expect_status 200
  expect_json '.features == ["extents", "checksum"] and .max_writers == 0'
  expect_header Allow "OPTIONS, GET, HEAD"
  head -c 4096 /dev/zero > "$BATS_TEST_TMPDIR/page"
  http -T "$BATS_TEST_TMPDIR/page" "$BASE_URL/images/ro-ops"
  expect_error 403
  expect_export raw-uri
}
