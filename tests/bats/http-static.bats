#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The http backend on a plain web server: an image lighttpd serves as a
# static file is a read-only transfer here (ranged GETs; no OPTIONS
# features, no PUT), with one data extent and checksums computed here
# equal to imagexfer's own on the same file.  A path that lighttpd
# refuses without a header shows the descriptor's headers arrive.
# shellcheck disable=SC2154 # status_code and body come from http

bats_require_minimum_version 1.5.0

load helpers
load expect
load http-helpers

MiB=1048576

setup_file () {
  command -v jq >/dev/null || return 0
  gateway_start --lighttpd-extra 'server.modules += ( "mod_access" )
$HTTP["url"] =~ "^/private/" {
  $REQUEST_HEADER["X-Image-Token"] != "let-me-in" { url.access-deny = ( "" ) }
}
$HTTP["url"] =~ "^/dav/" {
  setenv.set-response-header = ( "Allow" => "OPTIONS, GET, HEAD, PUT" )
}'
  stack_use host
  mkdir -p "$STACK_DIR/www/private" "$STACK_DIR/www/dav"
  image_random "$STACK_DIR/www/disk.raw" 3M
  cp "$STACK_DIR/www/disk.raw" "$STACK_DIR/www/private/disk.raw"
  cp "$STACK_DIR/www/disk.raw" "$STACK_DIR/www/dav/disk.raw"
  transfer_put local "{\"path\": \"$STACK_DIR/www/disk.raw\"}"
  stack_use gateway
}

teardown_file () {
  gateway_stop
}

setup () {
  gateway_setup
  STATIC=$HOST_DIR/www/disk.raw
  gw_transfer static "$HOST_URL/disk.raw" '{"filename": "disk.raw"}'
}

@test "static: OPTIONS says read-only with checksum and extents; PUT and PATCH are 403" {
  http -X OPTIONS "$BASE_URL/images/static"
  expect_status 200
  expect_json '.features == ["extents","checksum"] and .max_writers == 0'
  expect_header Allow "OPTIONS, GET, HEAD"
  http -T "$STATIC" "$BASE_URL/images/static"
  expect_error 403
  http -X PATCH -H 'Content-Type: application/json' -d '{"op": "flush"}' \
    "$BASE_URL/images/static"
  expect_error 403
  cmp "$STATIC" "$HOST_DIR/www/private/disk.raw" || fail "the file changed"
}

@test "static: a web server listing PUT without the /images features is read-only too" {
  # A WebDAV server may say PUT and replace the whole file with each
  # chunk's body, Content-Range or not: only an /images remote is written.
  http -X OPTIONS "$HOST_URL/dav/disk.raw"
  expect_status 200
  expect_header Allow "OPTIONS, GET, HEAD, PUT"
  gw_transfer dav "$HOST_URL/dav/disk.raw"
  http -X OPTIONS "$BASE_URL/images/dav"
  expect_status 200
  expect_json '.max_writers == 0'
  expect_header Allow "OPTIONS, GET, HEAD"
  head -c 1M /dev/urandom > "$BATS_TEST_TMPDIR/new"
  http -T "$BATS_TEST_TMPDIR/new" "$BASE_URL/images/dav"
  expect_error 403
  cmp "$STATIC" "$HOST_DIR/www/dav/disk.raw" || fail "the file changed"
}

@test "static: whole, ranged and suffix GETs are byte for byte" {
  http "$BASE_URL/images/static"
  expect_status 200
  expect_header Content-Length $((3 * MiB))
  expect_disposition disk.raw
  expect_body_is "$STATIC"
  ranged_get static "$STATIC" 0 0
  ranged_get static "$STATIC" 12345 $((2 * MiB + 99))
  ranged_get static "$STATIC" $((3 * MiB - 10)) $((3 * MiB - 1)) "bytes=-10"
  http -I "$BASE_URL/images/static"
  expect_header Content-Length $((3 * MiB))
}

@test "static: one data extent, dirty all dirty, checksums equal imagexfer's own" {
  http "$BASE_URL/images/static/extents"
  expect_extents_cover $((3 * MiB)) '["hole","length","start","zero"]'
  expect_json --argjson s $((3 * MiB)) '. == [{"start": 0, "length": $s, "zero": false, "hole": false}]'
  http "$BASE_URL/images/static/extents?context=dirty"
  expect_extents_cover $((3 * MiB)) '["dirty","length","start","zero"]'
  expect_json --argjson s $((3 * MiB)) '. == [{"start": 0, "length": $s, "dirty": true, "zero": false}]'
  local q
  for q in "" "?algorithm=sha256&block_size=1048576"; do
    http "$HOST_URL/images/local/checksum$q"
    expect_status 200
    local want=$body
    http "$BASE_URL/images/static/checksum$q"
    expect_status 200
    expect_eq "$body" "$want" "checksum$q vs the host's file transfer"
  done
}

@test "static: the descriptor's headers reach the remote; without them 403 is passed on" {
  gw_transfer priv "$HOST_URL/private/disk.raw" '{"headers": {"X-Image-Token": "let-me-in"}}'
  http "$BASE_URL/images/priv"
  expect_status 200
  expect_body_is "$STATIC"
  gw_transfer nopriv "$HOST_URL/private/disk.raw"
  http "$BASE_URL/images/nopriv"
  expect_error 403
  gw_transfer missing "$HOST_URL/not-there.raw"
  http "$BASE_URL/images/missing"
  expect_error 404
}
