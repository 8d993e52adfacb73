#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nginx in front of the imagexfer daemon, with the snippets as shipped
# (deploy/nginx): byte-exact round trips over HTTP and HTTPS, bodies
# streamed both ways without nginx's temporary files, /api on the admin
# socket only,
# and cancellation of a download and an upload in flight.

load helpers
load expect

setup_file ()
{
  [ -x "$NGINX" ] || skip "nginx is not installed (Debian: nginx)"
  command -v openssl >/dev/null || skip "openssl is not installed"
  CERT_DIR=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/cert.XXXXXX")
  export CERT_DIR
  make_test_cert "$CERT_DIR"
  stack_start --front nginx --https "$CERT_DIR/cert.pem" "$CERT_DIR/key.pem"
}

teardown_file ()
{
  stack_stop
}

setup ()
{
  T=$BATS_TEST_TMPDIR
}

# put_whole ID SIZE URL [curl args]: SIZE random bytes PUT to URL (the
# transfer ID's), answered as written and landed byte-exact; the bytes
# stay in $T/src.raw.
put_whole ()
{
  local id=$1 size=$2 url=$3
  shift 3
  head -c "$size" /dev/urandom > "$T/src.raw"
  http "$@" -X PUT --data-binary "@$T/src.raw" "$url"
  expect_written "$size"
  same_file "$T/src.raw" "$IMAGES/$id.raw"
}

# nginx says at warn level when it buffers a request body or a response
# to a temporary file (and removes the file when the request ends).
nginx_buffered_to_disk ()
{
  grep -c 'buffered to a temporary file' "$STACK_DIR/nginx-error.log"
}

@test "nginx: full GET and HEAD (with or without Range): 200, exact headers, byte-exact body" {
  new_image dl 3145733 '{"filename": "dl.raw"}'
  http "$BASE_URL/images/dl"
  expect_status 200
  expect_header Content-Type application/octet-stream
  expect_header Content-Length 3145733
  expect_header Accept-Ranges bytes
  expect_disposition dl.raw
  expect_body_is "$T/dl.orig"
  http -I "$BASE_URL/images/dl"
  expect_status 200
  expect_header Content-Length 3145733
  # HEAD ignores Range (docs/api.md), and nginx leaves the answer as it is.
  http -I -H 'Range: bytes=5-65540' "$BASE_URL/images/dl"
  expect_status 200
  expect_header Content-Length 3145733
  expect_no_header Content-Range
}

@test "nginx: ranged GETs: 206 with exactly those bytes; 416 past the end" {
  new_image rg 3145733
  ranged_get rg "$T/rg.orig" 0 0
  ranged_get rg "$T/rg.orig" 1048575 2097152
  ranged_get rg "$T/rg.orig" 3145732 3145732
  ranged_get rg "$T/rg.orig" 3145633 3145732 'bytes=-100'
  http -H 'Range: bytes=3145733-' "$BASE_URL/images/rg"
  expect_error 416
  expect_header Content-Range 'bytes */3145733'
}

@test "nginx: PUT whole and at an offset lands byte-exact" {
  new_image up 4194304
  put_whole up 4194304 "$BASE_URL/images/up"
  head -c 65536 /dev/urandom > "$T/piece.raw"
  http -X PUT -H 'Content-Range: bytes 1000000-1065535/*' \
    --data-binary "@$T/piece.raw" "$BASE_URL/images/up?flush=n"
  expect_written 65536 false
  write_at "$T/src.raw" 1000000 "$T/piece.raw"
  same_file "$T/src.raw" "$IMAGES/up.raw"
}

@test "nginx: PATCH zero, flush and extents" {
  new_image pz 2097152
  http -X PATCH -H 'Content-Type: application/json' \
    -d '{"op": "zero", "offset": 4096, "size": 8192}' "$BASE_URL/images/pz"
  expect_status 200
  head -c 8192 /dev/zero | write_at "$T/pz.orig" 4096
  same_file "$T/pz.orig" "$IMAGES/pz.raw"
  http -X POST --data-binary '' "$BASE_URL/images/pz/flush"
  expect_status 200
  expect_json '. == {"ok": true}'
  http "$BASE_URL/images/pz/extents"
  expect_extents_cover 2097152 '["hole", "length", "start", "zero"]'
}

@test "nginx: 64 MiB up and down stream through without temporary files" {
  new_image big 67108864
  put_whole big 67108864 "$BASE_URL/images/big"
  http "$BASE_URL/images/big"
  expect_status 200
  expect_body_is "$T/src.raw"
  expect_eq "$(nginx_buffered_to_disk)" 0 "bodies nginx buffered to disk"
}

@test "nginx: HTTPS GET and PUT with the shipped TLS snippet are byte-exact" {
  new_image tls 1048579
  http --cacert "$CERT_DIR/cert.pem" "$HTTPS_URL/images/tls"
  expect_status 200
  expect_body_is "$T/tls.orig"
  put_whole tls 1048579 "$HTTPS_URL/images/tls" --cacert "$CERT_DIR/cert.pem"
  run curl -sS -o /dev/null "$HTTPS_URL/images/tls"
  (( status == 60 )) || fail "curl accepted an unknown certificate (rc $status)"
}

@test "nginx: errors pass through as imagexfer's JSON" {
  http "$BASE_URL/images/no-such"
  expect_error 404
  new_image ro 4096 '{"ops": ["read"]}'
  http -X PUT --data-binary 'abcd' "$BASE_URL/images/ro"
  expect_error 403
  http -X DELETE "$BASE_URL/images/ro"
  expect_error 405
  expect_header Allow 'OPTIONS, GET, HEAD'
}

@test "nginx: /api refused on TCP (403 JSON), answers on the admin socket without CORS headers" {
  http "$BASE_URL/api/v1/daemon"
  expect_status 403
  expect_json '.code == "FORBIDDEN"'
  admin_http /api/v1/daemon -H 'Origin: http://example.com'
  expect_status 200
  expect_json '.backends == ["file", "nbd", "http"]'
  expect_no_header Access-Control-Allow-Origin
}

@test "nginx: descriptor deleted mid-download: the download stops, never a complete 200" {
  expect_download_cancelled long
}

@test "nginx: descriptor deleted mid-upload: the upload fails, never a 200" {
  image_sparse "$IMAGES/slow.raw" 64M
  file_transfer slow "$IMAGES/slow.raw"
  head -c 64M /dev/urandom > "$T/src.raw"
  curl -sS --limit-rate 4M --max-time 60 -o "$T/out" -w '%{http_code}\n' \
    -X PUT --data-binary "@$T/src.raw" "$BASE_URL/images/slow" \
    > "$T/curl.out" 2> "$T/curl.err" &
  local cpid=$! rc=0
  sleep 1.5
  transfer_rm slow
  local t0=$SECONDS
  wait "$cpid" || rc=$?
  (( rc != 28 )) || fail "the upload ran on until curl gave up (no cancel)"
  [ "$(cat "$T/curl.out")" != 200 ] || fail "a cancelled upload answered 200"
  (( SECONDS - t0 <= 20 )) || fail "cancel took $((SECONDS - t0)) s"
}
