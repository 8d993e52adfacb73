#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# PATCH /images/<id> and POST /images/<id>/flush (API.md section 2):
# zero, flush, ranged binary writes, errors, read-only, 405.

bats_require_minimum_version 1.5.0

load helpers
load expect

zeroes () {          # EXPECTED OFFSET COUNT
  head -c "$3" /dev/zero > "$BATS_TEST_TMPDIR/z"
  write_at "$1" "$2" "$BATS_TEST_TMPDIR/z"
}
patch_json () {      # ID JSON
  http -X PATCH -H 'Content-Type: application/json' --data-binary "$2" \
    "$BASE_URL/images/$1"
}
expect_ok () {       # a success body {"ok": true[, "bytes_written": N]}
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json '.ok == true and ((keys - ["ok", "bytes_written"]) == [])'
}
blocks () { stat -c %b "$1"; }

setup_file () {
  stack_start --workers 2
}

teardown_file () {
  stack_stop
}

@test "zero: the range reads zeroes, bytes around untouched, size unchanged" {
  new_image z 1048577
  patch_json z '{"op": "zero", "offset": 1001, "size": 5003}'
  expect_ok
  cp "$T/z.orig" "$T/expected"
  zeroes "$T/expected" 1001 5003
  same_file "$IMAGES/z.raw" "$T/expected"
  expect_eq "$(stat -c %s "$IMAGES/z.raw")" 1048577 "file size"
  http "$BASE_URL/images/z"
  same_file "$STACK_DIR/body" "$T/expected"
}

@test "zero: offset defaults to 0; the last byte; the whole image" {
  new_image z0 12345
  cp "$T/z0.orig" "$T/expected"
  patch_json z0 '{"op": "zero", "size": 10}'
  expect_ok
  zeroes "$T/expected" 0 10
  patch_json z0 '{"op": "zero", "size": 1, "offset": 12344}'
  expect_ok
  zeroes "$T/expected" 12344 1
  same_file "$IMAGES/z0.raw" "$T/expected"
  patch_json z0 '{"op": "zero", "size": 12345, "offset": 0}'
  expect_ok
  cmp "$IMAGES/z0.raw" <(head -c 12345 /dev/zero)
  expect_eq "$(stat -c %s "$IMAGES/z0.raw")" 12345 "file size"
}

@test "zero: size 0 is a no-op" {
  new_image zz 4096
  patch_json zz '{"op": "zero", "size": 0, "offset": 100}'
  expect_ok
  same_file "$IMAGES/zz.raw" "$T/zz.orig"
}

@test "zero with flush: true" {
  new_image zf 65536
  patch_json zf '{"op": "zero", "offset": 4096, "size": 8192, "flush": true}'
  expect_ok
  cp "$T/zf.orig" "$T/expected"
  zeroes "$T/expected" 4096 8192
  same_file "$IMAGES/zf.raw" "$T/expected"
}

@test "zero with sparse (default): the range becomes a hole, seen by /extents" {
  T=$BATS_TEST_TMPDIR
  image_random "$T/probe" 64K
  fallocate -p -o 0 -l 4096 "$T/probe" 2>/dev/null ||
    skip "the test filesystem cannot punch holes"
  new_image zs 1048576
  local before
  before=$(blocks "$IMAGES/zs.raw")
  patch_json zs '{"op": "zero", "offset": 65536, "size": 131072}'
  expect_ok
  cp "$T/zs.orig" "$T/expected"
  zeroes "$T/expected" 65536 131072
  same_file "$IMAGES/zs.raw" "$T/expected"
  (( $(blocks "$IMAGES/zs.raw") < before )) ||
    fail "no blocks were deallocated ($before before, $(blocks "$IMAGES/zs.raw") after)"
  http "$BASE_URL/images/zs/extents"
  expect_status 200
  expect_json '. == [
    {"start": 0, "length": 65536, "zero": false, "hole": false},
    {"start": 65536, "length": 131072, "zero": true, "hole": false},
    {"start": 196608, "length": 851968, "zero": false, "hole": false}]'
}

@test "zero with sparse false: reads zero, stays allocated" {
  new_image zn 1048576 '{"sparse": false}'
  local before
  before=$(blocks "$IMAGES/zn.raw")
  patch_json zn '{"op": "zero", "offset": 65536, "size": 131072}'
  expect_ok
  cp "$T/zn.orig" "$T/expected"
  zeroes "$T/expected" 65536 131072
  same_file "$IMAGES/zn.raw" "$T/expected"
  expect_eq "$(blocks "$IMAGES/zn.raw")" "$before" "allocated blocks"
}

@test "zero: size missing, bad numbers: 400, image unchanged" {
  new_image zbad 65536
  local j
  for j in '{"op": "zero"}' \
           '{"op": "zero", "offset": 0}' \
           '{"op": "zero", "size": "10"}' \
           '{"op": "zero", "size": true}' \
           '{"op": "zero", "size": null}' \
           '{"op": "zero", "size": -1}' \
           '{"op": "zero", "size": 1.5}' \
           '{"op": "zero", "size": 10, "offset": "0"}' \
           '{"op": "zero", "size": 10, "offset": false}' \
           '{"op": "zero", "size": 10, "offset": -5}' \
           '{"op": "zero", "size": 10, "flush": "yes"}' \
           '{"op": "zero", "size": [10]}'; do
    patch_json zbad "$j"
    echo "case: body: $j"
    expect_error 400
  done
  same_file "$IMAGES/zbad.raw" "$T/zbad.orig"
}

@test "zero past SIZE: 416 with bytes */SIZE, image unchanged" {
  new_image zpast 65536
  local j
  for j in '{"op": "zero", "size": 65537}' \
           '{"op": "zero", "size": 2, "offset": 65535}' \
           '{"op": "zero", "size": 1, "offset": 65536}' \
           '{"op": "zero", "size": 2, "offset": 9223372036854775807}' \
           '{"op": "zero", "size": 9223372036854775807, "offset": 9223372036854775807}'; do
    patch_json zpast "$j"
    echo "case: body: $j"
    expect_error 416
    expect_header Content-Range 'bytes */65536'
  done
  same_file "$IMAGES/zpast.raw" "$T/zpast.orig"
  expect_eq "$(stat -c %s "$IMAGES/zpast.raw")" 65536 "file size"
}

@test "unknown op, missing op, bad JSON: 400" {
  new_image op 4096
  local j
  for j in '{"op": "trim", "size": 10}' '{"op": "ZERO", "size": 10}' \
           '{"size": 10}' '{"op": 5}' '{' '{"op": "zero", "size": ' \
           'not json' '[]' 'null' '"zero"' ''; do
    patch_json op "$j"
    echo "case: body: '$j'"
    expect_error 400
  done
  same_file "$IMAGES/op.raw" "$T/op.orig"
}

@test "unknown keys are ignored" {
  new_image uk 4096
  patch_json uk '{"op": "zero", "size": 100, "offset": 50, "future": {"x": [1, 2]}, "why": "test"}'
  expect_ok
  cp "$T/uk.orig" "$T/expected"
  zeroes "$T/expected" 50 100
  same_file "$IMAGES/uk.raw" "$T/expected"
}

@test "JSON body over 64 KiB: 413" {
  new_image huge 4096
  local pad
  pad=$(head -c 70000 /dev/zero | tr '\0' x)
  printf '{"op": "zero", "size": 10, "pad": "%s"}' "$pad" > "$T/huge.json"
  http -X PATCH -H 'Content-Type: application/json' --data-binary @"$T/huge.json" \
    "$BASE_URL/images/huge"
  expect_error 413
  same_file "$IMAGES/huge.raw" "$T/huge.orig"
}

@test "op flush: 200 {ok: true}" {
  new_image f 4096
  patch_json f '{"op": "flush"}'
  expect_ok
  same_file "$IMAGES/f.raw" "$T/f.orig"
}

@test "POST /images/<id>/flush: 200 exactly {ok: true}" {
  new_image pf 4096
  http -X POST --data-binary "" "$BASE_URL/images/pf/flush"
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json '. == {"ok": true}'
}

@test "ranged binary PATCH (Range bytes=A-B): byte-exact" {
  new_image rb 1048577
  cp "$T/rb.orig" "$T/expected"
  image_random "$T/p1" 4097
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=12345-16441' --data-binary @"$T/p1" "$BASE_URL/images/rb"
  expect_ok
  expect_json '(has("bytes_written") | not) or .bytes_written == 4097'
  write_at "$T/expected" 12345 "$T/p1"
  image_random "$T/p2" 1
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=1048576-1048576' --data-binary @"$T/p2" "$BASE_URL/images/rb"
  expect_ok
  write_at "$T/expected" 1048576 "$T/p2"
  same_file "$IMAGES/rb.raw" "$T/expected"
}

@test "ranged binary PATCH: length mismatch 400, past SIZE 416, bad Range 400" {
  new_image rbad 65536
  image_random "$T/p" 100
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=0-98' --data-binary @"$T/p" "$BASE_URL/images/rbad"
  expect_error 400
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=0-100' --data-binary @"$T/p" "$BASE_URL/images/rbad"
  expect_error 400
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=65500-65599' --data-binary @"$T/p" "$BASE_URL/images/rbad"
  expect_error 416
  expect_header Content-Range 'bytes */65536'
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=x-y' --data-binary @"$T/p" "$BASE_URL/images/rbad"
  expect_error 400
  same_file "$IMAGES/rbad.raw" "$T/rbad.orig"
}

@test "PATCH with another Content-Type: 415" {
  new_image ct 4096
  http -X PATCH -H 'Content-Type: text/plain' --data-binary '{"op": "flush"}' \
    "$BASE_URL/images/ct"
  expect_error 415
  # Binary without Range is neither JSON nor a ranged write.
  http -X PATCH -H 'Content-Type: application/octet-stream' --data-binary 'abcd' \
    "$BASE_URL/images/ct"
  expect_error 415
  same_file "$IMAGES/ct.raw" "$T/ct.orig"
}

@test "read-only: PATCH and POST flush are 403, image unchanged" {
  new_image ro 65536 '{"ops": ["read"]}'
  patch_json ro '{"op": "zero", "size": 100}'
  expect_error 403
  patch_json ro '{"op": "flush"}'
  expect_error 403
  image_random "$T/p" 10
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=0-9' --data-binary @"$T/p" "$BASE_URL/images/ro"
  expect_error 403
  http -X POST --data-binary "" "$BASE_URL/images/ro/flush"
  expect_error 403
  same_file "$IMAGES/ro.raw" "$T/ro.orig"
}

@test "PATCH and POST flush on an unknown id: 404" {
  patch_json nobody '{"op": "flush"}'
  expect_error 404
  http -X POST --data-binary "" "$BASE_URL/images/nobody/flush"
  expect_error 404
}

@test "405 with Allow: DELETE /images/<id>" {
  new_image del 4096
  http -X DELETE "$BASE_URL/images/del"
  expect_error 405
  expect_header Allow "OPTIONS, GET, HEAD, PUT, PATCH"
  same_file "$IMAGES/del.raw" "$T/del.orig"
  # A read-only transfer allows only reading.
  new_image delro 4096 '{"read_only": true}'
  http -X DELETE "$BASE_URL/images/delro"
  expect_error 405
  expect_header Allow "OPTIONS, GET, HEAD"
  # A sub-resource lists its own methods.
  http -X PUT --data-binary "" "$BASE_URL/images/del/extents"
  expect_error 405
  expect_header Allow "OPTIONS, GET"
}
