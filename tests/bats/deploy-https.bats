#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The deployment snippets as shipped: HTTPS through imagexfer-https.conf
# (self-signed certificate for 127.0.0.1), /api refused on both TCP
# listeners and answered on the administrator's socket.

load helpers
load expect

setup_file ()
{
  if [ ! -e /usr/lib/lighttpd/mod_openssl.so ] \
     && ! "$LIGHTTPD" -V 2>/dev/null | grep -q '+ SSL'; then
    skip "lighttpd has no mod_openssl (Debian: lighttpd-mod-openssl)"
  fi
  command -v openssl >/dev/null || skip "openssl is not installed"

  CERT_DIR=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/cert.XXXXXX")
  export CERT_DIR
  make_test_cert "$CERT_DIR"
  stack_start --https "$CERT_DIR/cert.pem" "$CERT_DIR/key.pem"

  image_random "$IMAGES/disk.raw" 3145733
  transfer_put dl "{\"backend\": \"file\", \"path\": \"$IMAGES/disk.raw\"}"
  image_sparse "$IMAGES/up.raw" 1048576
  transfer_put up "{\"backend\": \"file\", \"path\": \"$IMAGES/up.raw\"}"
}

teardown_file ()
{
  stack_stop
}

@test "https: full GET with --cacert is byte-exact" {
  http --cacert "$CERT_DIR/cert.pem" "$HTTPS_URL/images/dl"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/body" "$IMAGES/disk.raw"
}

@test "https: ranged GET with --cacert returns 206 and exactly those bytes" {
  http --cacert "$CERT_DIR/cert.pem" -H 'Range: bytes=1048575-2097152' \
    "$HTTPS_URL/images/dl"
  [ "$status_code" = 206 ]
  [ "$(header Content-Range)" = "bytes 1048575-2097152/3145733" ]
  cmp "$STACK_DIR/body" <(extract "$IMAGES/disk.raw" 1048575 1048578)
}

@test "https: PUT upload with --cacert lands byte-exact" {
  head -c 1048576 /dev/urandom > "$STACK_DIR/src.raw"
  http --cacert "$CERT_DIR/cert.pem" -X PUT \
    --data-binary "@$STACK_DIR/src.raw" "$HTTPS_URL/images/up"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/src.raw" "$IMAGES/up.raw"
}

@test "https: without --cacert curl refuses the self-signed certificate" {
  # 60: peer certificate cannot be authenticated with known CA certificates.
  run curl -sS -o /dev/null "$HTTPS_URL/images/dl"
  [ "$status" -eq 60 ]
}

@test "https: the plain HTTP listener still serves" {
  http "$BASE_URL/images/dl"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/body" "$IMAGES/disk.raw"
}

@test "deploy: /api on the HTTP and HTTPS listeners: 403 FORBIDDEN from imagexfer" {
  http "$BASE_URL/api/v1/daemon"
  expect_status 403
  expect_json '.code == "FORBIDDEN"'
  http --cacert "$CERT_DIR/cert.pem" "$HTTPS_URL/api/v1/daemon"
  expect_status 403
  expect_json '.code == "FORBIDDEN"'
}

@test "deploy: /api answers on the administrator's socket" {
  admin_http /api/v1/daemon
  expect_status 200
  expect_json '.backends == ["file", "nbd", "http"]'
}

@test "deploy: /images from 127.0.0.2 is served (not only from 127.0.0.1)" {
  http --interface 127.0.0.2 -X OPTIONS "$BASE_URL/images/dl"
  [ "$status_code" = 200 ]
}

@test "deploy: other paths are not routed to imagexfer" {
  http "$BASE_URL/imagesx/dl"
  [ "$status_code" = 404 ]
  [ ! -s "$STACK_DIR/body" ] || ! grep -q '"error"' "$STACK_DIR/body"
}
