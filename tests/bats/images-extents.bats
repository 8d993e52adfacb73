#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# GET /images/<id>/extents on file backends (API.md section 2).

bats_require_minimum_version 1.5.0

load helpers
load expect


# expect_extents SIZE: the last body is a valid zero-context extent list
# for a file backend covering [0, SIZE): never a hole.
expect_extents () {
  expect_extents_cover "$1" '["hole", "length", "start", "zero"]'
  expect_json 'all(.[]; (.zero | type == "boolean") and .hole == false)'
}

setup_file () {
  stack_start --workers 2
  # 8 MiB + 123: data at [1M, 1M+64K) and [5M, 6M), holes elsewhere.
  image_sparse "$IMAGES/sparse.raw" 8388731
  head -c 65536 /dev/urandom | write_at "$IMAGES/sparse.raw" 1048576
  head -c 1048576 /dev/urandom | write_at "$IMAGES/sparse.raw" 5242880
  file_transfer sparse "$IMAGES/sparse.raw"
  file_transfer win "$IMAGES/sparse.raw" '{"offset": 524288, "size": 5767168}'
  image_random "$IMAGES/full.raw" 1048577
  file_transfer full "$IMAGES/full.raw"
  image_sparse "$IMAGES/hole.raw" 3M
  file_transfer hole "$IMAGES/hole.raw"
  : > "$IMAGES/empty.raw"
  file_transfer empty "$IMAGES/empty.raw"
  file_transfer ro "$IMAGES/sparse.raw" '{"ops": ["read"]}'
}

teardown_file () {
  stack_stop
}

@test "extents of a sparse file: exact list, zero for holes, hole false" {
  http "$BASE_URL/images/sparse/extents"
  expect_extents 8388731
  expect_json '. == [
    {"start": 0, "length": 1048576, "zero": true, "hole": false},
    {"start": 1048576, "length": 65536, "zero": false, "hole": false},
    {"start": 1114112, "length": 4128768, "zero": true, "hole": false},
    {"start": 5242880, "length": 1048576, "zero": false, "hole": false},
    {"start": 6291456, "length": 2097275, "zero": true, "hole": false}]'
}

@test "context=zero is the default" {
  http "$BASE_URL/images/sparse/extents?context=zero"
  expect_extents 8388731
  cp "$STACK_DIR/body" "$BATS_TEST_TMPDIR/explicit"
  http "$BASE_URL/images/sparse/extents"
  cmp <(jq -c . "$BATS_TEST_TMPDIR/explicit") <(jq -c . "$STACK_DIR/body")
}

@test "extents of a fully allocated file: one data extent" {
  http "$BASE_URL/images/full/extents"
  expect_extents 1048577
  expect_json '. == [{"start": 0, "length": 1048577, "zero": false, "hole": false}]'
}

@test "extents of an all-hole file: one zero extent" {
  http "$BASE_URL/images/hole/extents"
  expect_extents 3145728
  expect_json '. == [{"start": 0, "length": 3145728, "zero": true, "hole": false}]'
}

@test "extents of an empty transfer: an empty list" {
  http "$BASE_URL/images/empty/extents"
  expect_extents 0
  expect_json '. == []'
}

@test "extents of an offset window are relative to the window" {
  # Window [512K, 512K + 5.5M) of the file: data at 512K..576K and 4.5M..5.5M.
  http "$BASE_URL/images/win/extents"
  expect_extents 5767168
  expect_json '. == [
    {"start": 0, "length": 524288, "zero": true, "hole": false},
    {"start": 524288, "length": 65536, "zero": false, "hole": false},
    {"start": 589824, "length": 4128768, "zero": true, "hole": false},
    {"start": 4718592, "length": 1048576, "zero": false, "hole": false}]'
}

@test "extents follow writes through the API" {
  image_sparse "$IMAGES/grow.raw" 2M
  file_transfer grow "$IMAGES/grow.raw"
  http "$BASE_URL/images/grow/extents"
  expect_json '. == [{"start": 0, "length": 2097152, "zero": true, "hole": false}]'
  head -c 65536 /dev/urandom > "$BATS_TEST_TMPDIR/p"
  http -T "$BATS_TEST_TMPDIR/p" -H 'Content-Range: bytes 1048576-1114111/*' \
    "$BASE_URL/images/grow"
  expect_status 200
  http "$BASE_URL/images/grow/extents"
  expect_extents 2097152
  expect_json '. == [
    {"start": 0, "length": 1048576, "zero": true, "hole": false},
    {"start": 1048576, "length": 65536, "zero": false, "hole": false},
    {"start": 1114112, "length": 983040, "zero": true, "hole": false}]'
}

@test "extents on a read-only transfer are allowed" {
  http "$BASE_URL/images/ro/extents"
  expect_extents 8388731
}

@test "context=dirty on a file backend: 404" {
  http "$BASE_URL/images/sparse/extents?context=dirty"
  expect_error 404
}

@test "any other context: 400" {
  local c
  for c in bogus ZERO '' 'zero%20' 'dirty,zero'; do
    http "$BASE_URL/images/sparse/extents?context=$c"
    echo "case: context=$c"
    expect_error 400
  done
}

@test "unknown sub-resource: 404" {
  local s
  for s in nope extents/more extent flush/x checksums; do
    http "$BASE_URL/images/sparse/$s"
    echo "case: /images/sparse/$s"
    expect_error 404
  done
}

@test "extents of an unknown id: 404" {
  http "$BASE_URL/images/missing/extents"
  expect_error 404
}
