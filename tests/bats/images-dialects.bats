#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# One file-backed transfer in each descriptor dialect (API.md section 1):
# canonical, oVirt ImageIO ticket, CloudStack; /images behaves per fields.

bats_require_minimum_version 1.5.0

load helpers
load expect

expect_options () {  # ID rw|ro
  http -X OPTIONS "$BASE_URL/images/$1"
  expect_status 200
  if [ "$2" = rw ]; then
    expect_json '(.features | sort) == ["checksum", "extents", "flush", "zero"] and .max_writers >= 1'
    expect_header Allow 'OPTIONS, GET, HEAD, PUT, PATCH, POST'
  else
    expect_json '(.features | sort) == ["checksum", "extents"] and .max_writers == 0'
    expect_header Allow 'OPTIONS, GET, HEAD'
  fi
}

setup_file () {
  stack_start --workers 2
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

@test "canonical: backend file, path, size, ops, sparse, transfer_id" {
  image_random "$IMAGES/c.raw" 65537
  cp "$IMAGES/c.raw" "$T/orig"
  transfer_put canon "$(jq -nc --arg p "$IMAGES/c.raw" \
    '{backend: "file", path: $p, size: 65537, ops: ["read", "write"],
      sparse: true, transfer_id: "canon-1", comment: "unknown fields are ignored"}')"
  http "$BASE_URL/images/canon"
  expect_status 200
  expect_header Content-Length 65537
  expect_no_header Content-Disposition
  same_file "$STACK_DIR/body" "$T/orig"
  expect_options canon rw
  image_random "$T/new" 65537
  http -T "$T/new" "$BASE_URL/images/canon"
  expect_written 65537
  same_file "$IMAGES/c.raw" "$T/new"
}

@test "canonical: file is an alias of path; backend defaults to file" {
  image_random "$IMAGES/alias.raw" 1000
  transfer_put alias "$(jq -nc --arg p "$IMAGES/alias.raw" '{file: $p}')"
  http "$BASE_URL/images/alias"
  expect_status 200
  same_file "$STACK_DIR/body" "$IMAGES/alias.raw"
}

@test "ImageIO ticket, read-write: url file://, ops, timeout, filename, transfer_id, uuid" {
  local id=0d6c3b2e-7a51-4e2b-9f3c-6f1f2a9c0b11
  image_random "$IMAGES/imageio.raw" 131073
  cp "$IMAGES/imageio.raw" "$T/orig"
  transfer_put "$id" "$(jq -nc --arg u "file://$IMAGES/imageio.raw" --arg id "$id" \
    '{uuid: $id, size: 131073, url: $u, timeout: 300, ops: ["read", "write"],
      filename: "vm-disk.raw", transfer_id: "tx-42", sparse: false}')"
  http "$BASE_URL/images/$id"
  expect_status 200
  expect_header Content-Length 131073
  expect_header Content-Type application/octet-stream
  expect_disposition vm-disk.raw
  same_file "$STACK_DIR/body" "$T/orig"
  expect_options "$id" rw
  image_random "$T/new" 131073
  http -T "$T/new" "$BASE_URL/images/$id"
  expect_written 131073
  same_file "$IMAGES/imageio.raw" "$T/new"
  http -r 100-199 "$BASE_URL/images/$id"
  expect_status 206
  expect_header Content-Range 'bytes 100-199/131073'
}

@test "ImageIO ticket, read-only: ops [read] forbids PUT and PATCH" {
  local id=6a7e2c1d-0000-4000-8000-000000000001
  image_random "$IMAGES/imageio-ro.raw" 4096
  cp "$IMAGES/imageio-ro.raw" "$T/orig"
  transfer_put "$id" "$(jq -nc --arg u "file://$IMAGES/imageio-ro.raw" --arg id "$id" \
    '{uuid: $id, size: 4096, url: $u, timeout: 300, ops: ["read"]}')"
  http "$BASE_URL/images/$id"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/orig"
  expect_options "$id" ro
  image_random "$T/new" 4096
  http -T "$T/new" "$BASE_URL/images/$id"
  expect_error 403
  http -X PATCH -H 'Content-Type: application/json' \
    --data-binary '{"op": "zero", "size": 4096}' "$BASE_URL/images/$id"
  expect_error 403
  same_file "$IMAGES/imageio-ro.raw" "$T/orig"
}

@test "ImageIO ticket: size smaller than the file limits the transfer" {
  local id=imageio-prefix
  image_random "$IMAGES/imageio-p.raw" 10000
  transfer_put "$id" "$(jq -nc --arg u "file://$IMAGES/imageio-p.raw" \
    '{uuid: "imageio-prefix", size: 4096, url: $u, timeout: 300, ops: ["read"]}')"
  http -I "$BASE_URL/images/$id"
  expect_status 200
  expect_header Content-Length 4096
  http -H 'Range: bytes=4096-' "$BASE_URL/images/$id"
  expect_error 416
  expect_header Content-Range 'bytes */4096'
}

@test "ImageIO timeout: expires timeout seconds after the last request" {
  image_random "$IMAGES/slide.raw" 100
  transfer_put slide "$(jq -nc --arg u "file://$IMAGES/slide.raw" \
    '{uuid: "slide", size: 100, url: $u, timeout: 2, ops: ["read"]}')"
  http "$BASE_URL/images/slide"
  expect_status 200
  sleep 1.2
  http "$BASE_URL/images/slide"
  expect_status 200
  sleep 1.2
  # 2.4 s after the spool file was written, 1.2 s after the last request.
  http "$BASE_URL/images/slide"
  expect_status 200
  sleep 3
  http "$BASE_URL/images/slide"
  expect_error 403
}

@test "ImageIO timeout: the first request counts from the file's mtime" {
  image_random "$IMAGES/stale.raw" 100
  transfer_put stale "$(jq -nc --arg u "file://$IMAGES/stale.raw" \
    '{uuid: "stale", size: 100, url: $u, timeout: 5, ops: ["read"]}')"
  touch -d '-60 seconds' "$SPOOL/stale.json"
  http "$BASE_URL/images/stale"
  expect_error 403
}

@test "CloudStack: file + read_only true + idle_timeout_seconds" {
  image_random "$IMAGES/cs-ro.raw" 20000
  cp "$IMAGES/cs-ro.raw" "$T/orig"
  transfer_put cs-ro "$(jq -nc --arg f "$IMAGES/cs-ro.raw" \
    '{file: $f, read_only: true, idle_timeout_seconds: 600}')"
  http "$BASE_URL/images/cs-ro"
  expect_status 200
  expect_header Content-Length 20000
  same_file "$STACK_DIR/body" "$T/orig"
  expect_options cs-ro ro
  image_random "$T/new" 20000
  http -T "$T/new" "$BASE_URL/images/cs-ro"
  expect_error 403
  same_file "$IMAGES/cs-ro.raw" "$T/orig"
}

@test "CloudStack: read_only false allows PUT and ranged PATCH" {
  image_random "$IMAGES/cs-rw.raw" 20000
  cp "$IMAGES/cs-rw.raw" "$T/expected"
  transfer_put cs-rw "$(jq -nc --arg f "$IMAGES/cs-rw.raw" \
    '{file: $f, read_only: false, idle_timeout_seconds: 600}')"
  expect_options cs-rw rw
  image_random "$T/new" 20000
  http -T "$T/new" "$BASE_URL/images/cs-rw"
  expect_written 20000
  same_file "$IMAGES/cs-rw.raw" "$T/new"
  cp "$T/new" "$T/expected"
  image_random "$T/piece" 1000
  http -X PATCH -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=5000-5999' --data-binary @"$T/piece" "$BASE_URL/images/cs-rw"
  expect_status 200
  expect_json '.ok == true'
  write_at "$T/expected" 5000 "$T/piece"
  same_file "$IMAGES/cs-rw.raw" "$T/expected"
}

@test "CloudStack idle_timeout_seconds: idle too long is 403" {
  image_random "$IMAGES/cs-idle.raw" 100
  transfer_put cs-idle "$(jq -nc --arg f "$IMAGES/cs-idle.raw" \
    '{file: $f, read_only: true, idle_timeout_seconds: 2}')"
  http "$BASE_URL/images/cs-idle"
  expect_status 200
  sleep 1
  http "$BASE_URL/images/cs-idle"
  expect_status 200
  sleep 3.5
  http "$BASE_URL/images/cs-idle"
  expect_error 403
}
