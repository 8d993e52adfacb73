#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# OPTIONS /images/... (API.md section 2): features, Allow, CORS, errors.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 2
  image_random "$IMAGES/disk.raw" 1048577
  file_transfer rw "$IMAGES/disk.raw"
  file_transfer ro "$IMAGES/disk.raw" '{"ops": ["read"]}'
  file_transfer ro2 "$IMAGES/disk.raw" '{"read_only": true}'
  file_transfer wo "$IMAGES/disk.raw" '{"ops": ["write"]}'
}

teardown_file () {
  stack_stop
}

RW_METHODS="OPTIONS, GET, HEAD, PUT, PATCH, POST"
RO_METHODS="OPTIONS, GET, HEAD"

# expect_preflight METHODS [CONTEXT]: the last response is a successful
# CORS preflight answer allowing METHODS.
expect_preflight () {
  expect_status 200 "${2:-}"
  expect_header Access-Control-Allow-Origin '*'
  expect_header Access-Control-Allow-Methods "$1"
  expect_header Access-Control-Allow-Headers '*'
  expect_header Access-Control-Max-Age 86400
}

@test "OPTIONS /images/* lists every feature without a transfer" {
  http -X OPTIONS "$BASE_URL/images/*"
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json '(.features | sort) == ["checksum", "extents", "flush", "zero"]'
  expect_json '.unix_socket == null'
  expect_json '(keys | sort) == ["features", "max_readers", "max_writers", "unix_socket"]'
  expect_json '.max_readers >= 1 and .max_writers >= 1'
}

@test "OPTIONS on a writable transfer: all features, write methods" {
  http -X OPTIONS "$BASE_URL/images/rw"
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json '(.features | sort) == ["checksum", "extents", "flush", "zero"]'
  expect_json '(keys | sort) == ["features", "max_readers", "max_writers", "unix_socket"]'
  expect_json '.unix_socket == null and .max_readers >= 1 and .max_writers >= 1'
  expect_header Allow "$RW_METHODS"
  expect_header Access-Control-Allow-Methods "$RW_METHODS"
}

@test "OPTIONS on a write-only descriptor: write implies read" {
  http -X OPTIONS "$BASE_URL/images/wo"
  expect_status 200
  expect_json '(.features | sort) == ["checksum", "extents", "flush", "zero"]'
  expect_header Allow "$RW_METHODS"
}

@test "OPTIONS on a read-only transfer (ops read): read features, max_writers 0" {
  for id in ro ro2; do
    http -X OPTIONS "$BASE_URL/images/$id"
    expect_status 200
    expect_header Content-Type application/json
    expect_length
    expect_json '(.features | sort) == ["checksum", "extents"]'
    expect_json '.max_writers == 0 and .max_readers >= 1 and .unix_socket == null'
    expect_header Allow "$RO_METHODS"
    expect_header Access-Control-Allow-Methods "$RO_METHODS"
  done
}

@test "OPTIONS on an unknown id: 404 JSON error" {
  http -X OPTIONS "$BASE_URL/images/no-such-transfer"
  expect_error 404
}

@test "CORS: Origin gets Access-Control-Allow-Origin: * on GET, OPTIONS and errors" {
  http -H 'Origin: https://example.org' -r 0-9 "$BASE_URL/images/rw"
  expect_status 206
  expect_header Access-Control-Allow-Origin '*'

  http -X OPTIONS -H 'Origin: https://example.org' "$BASE_URL/images/ro"
  expect_status 200
  expect_header Access-Control-Allow-Origin '*'

  http -H 'Origin: https://example.org' "$BASE_URL/images/missing"
  expect_error 404
  expect_header Access-Control-Allow-Origin '*'
}

@test "CORS: no Origin, no Access-Control-Allow-Origin" {
  http -r 0-9 "$BASE_URL/images/rw"
  expect_status 206
  expect_no_header Access-Control-Allow-Origin
}

@test "CORS preflight on a writable transfer: exact headers" {
  http -X OPTIONS -H 'Origin: https://example.org' \
    -H 'Access-Control-Request-Method: PUT' \
    -H 'Access-Control-Request-Headers: content-type, content-range' \
    "$BASE_URL/images/rw"
  expect_preflight "$RW_METHODS"
}

@test "CORS preflight on a read-only transfer: read methods only" {
  http -X OPTIONS -H 'Origin: https://example.org' \
    -H 'Access-Control-Request-Method: GET' "$BASE_URL/images/ro"
  expect_preflight "$RO_METHODS"
}

@test "CORS preflight on sub-resources: their own methods, no transfer check" {
  local sub allow
  for sub in extents:GET flush:POST checksum:GET checksum/algorithms:GET; do
    allow="OPTIONS, ${sub#*:}"
    http -X OPTIONS -H 'Origin: https://example.org' \
      -H "Access-Control-Request-Method: ${sub#*:}" \
      "$BASE_URL/images/no-such-transfer/${sub%%:*}"
    expect_preflight "$allow" "$sub"
    expect_header Allow "$allow"
  done
}

@test "a trailing slash names nothing: /images/<id>/ is 404" {
  http "$BASE_URL/images/rw/"
  expect_error 404
}

@test "OPTIONS does not close the connection (keep-alive reused)" {
  # Baseline for the 403 connection-close tests elsewhere: two requests in
  # one curl run share one connection.
  run -0 curl -sS -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -X OPTIONS "$BASE_URL/images/rw" \
    --next -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -X OPTIONS "$BASE_URL/images/rw"
  expect_eq "${lines[0]}" "200 1" "first request"
  expect_eq "${lines[1]}" "200 0" "second request (reused connection)"
}
