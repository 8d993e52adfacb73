#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# PUT /images/<id> (API.md section 2): full and Content-Range writes,
# flush, errors, offset windows, read-only transfers.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 2
}

teardown_file () {
  stack_stop
}

@test "full PUT round trip, odd sizes, byte-exact on disk and through GET" {
  local size
  for size in 1 511 12345 1048577 3145731; do
    new_image "p$size" "$size"
    image_random "$T/src" "$size"
    http -T "$T/src" "$BASE_URL/images/p$size"
    expect_written "$size"
    same_file "$IMAGES/p$size.raw" "$T/src"
    http "$BASE_URL/images/p$size"
    expect_status 200
    same_file "$STACK_DIR/body" "$T/src"
  done
}

@test "PUT without Expect: 100-continue" {
  new_image noexpect 2097152
  image_random "$T/src" 2097152
  http -H 'Expect:' -T "$T/src" "$BASE_URL/images/noexpect"
  expect_written 2097152
  same_file "$IMAGES/noexpect.raw" "$T/src"
}

@test "empty PUT to an empty transfer: 200, 0 bytes" {
  : > "$IMAGES/empty.raw"
  file_transfer empty "$IMAGES/empty.raw"
  : > "$BATS_TEST_TMPDIR/nothing"
  http -T "$BATS_TEST_TMPDIR/nothing" "$BASE_URL/images/empty"
  expect_written 0
  [ ! -s "$IMAGES/empty.raw" ]
}

@test "empty PUT to a larger transfer: 200, 0 bytes, image unchanged" {
  new_image e2 4099
  : > "$T/nothing"
  http -T "$T/nothing" "$BASE_URL/images/e2"
  expect_written 0
  same_file "$IMAGES/e2.raw" "$T/e2.orig"
}

@test "PUT shorter than the transfer writes a prefix only" {
  new_image short 65536
  image_random "$T/src" 1000
  http -T "$T/src" "$BASE_URL/images/short"
  expect_written 1000
  cp "$T/short.orig" "$T/expected"
  write_at "$T/expected" 0 "$T/src"
  same_file "$IMAGES/short.raw" "$T/expected"
}

@test "Content-Range writes at odd offsets: bytes A-B/*, A-*/*, A-B/SIZE" {
  local size=1048577
  new_image cr "$size"
  cp "$T/cr.orig" "$T/expected"

  image_random "$T/a" 4097
  http -T "$T/a" -H 'Content-Range: bytes 12345-16441/*' "$BASE_URL/images/cr"
  expect_written 4097
  write_at "$T/expected" 12345 "$T/a"

  image_random "$T/b" 777
  http -T "$T/b" -H 'Content-Range: bytes 999999-*/*' "$BASE_URL/images/cr"
  expect_written 777
  write_at "$T/expected" 999999 "$T/b"

  image_random "$T/c" 1
  http -T "$T/c" -H "Content-Range: bytes 1048576-1048576/$size" "$BASE_URL/images/cr"
  expect_written 1
  write_at "$T/expected" 1048576 "$T/c"

  image_random "$T/d" 65537
  http -T "$T/d" -H 'Content-Range: bytes 1-65537/*' "$BASE_URL/images/cr"
  expect_written 65537
  write_at "$T/expected" 1 "$T/d"

  same_file "$IMAGES/cr.raw" "$T/expected"
  http "$BASE_URL/images/cr"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/expected"
}

@test "Content-Range length != Content-Length: 400, image unchanged" {
  new_image crlen 65536
  image_random "$T/src" 100
  http -T "$T/src" -H 'Content-Range: bytes 0-98/*' "$BASE_URL/images/crlen"
  expect_error 400
  http -T "$T/src" -H 'Content-Range: bytes 10-110/*' "$BASE_URL/images/crlen"
  expect_error 400
  same_file "$IMAGES/crlen.raw" "$T/crlen.orig"
}

@test "Content-Range syntax errors: 400, image unchanged" {
  new_image crsyn 65536
  image_random "$T/src" 10
  local cr
  for cr in 'bytes abc' 'bytes 9-0/*' 'bytes 0-9/5' 'items 0-9/*' 'bytes 0-9' \
            'bytes -9/*' 'bytes 0x0-9/*' 'bytes=0-9/*'; do
    http -T "$T/src" -H "Content-Range: $cr" "$BASE_URL/images/crsyn"
    echo "case: Content-Range: $cr"
    expect_error 400
  done
  same_file "$IMAGES/crsyn.raw" "$T/crsyn.orig"
}

@test "writes reaching past SIZE: 416 with bytes */SIZE, image unchanged" {
  new_image past 10000
  image_random "$T/big" 10001
  http -T "$T/big" "$BASE_URL/images/past"
  expect_error 416
  expect_header Content-Range 'bytes */10000'

  image_random "$T/ten" 10
  http -T "$T/ten" -H 'Content-Range: bytes 9991-10000/*' "$BASE_URL/images/past"
  expect_error 416
  expect_header Content-Range 'bytes */10000'

  http -T "$T/ten" -H 'Content-Range: bytes 9995-*/*' "$BASE_URL/images/past"
  expect_error 416

  image_random "$T/one" 1
  http -T "$T/one" -H 'Content-Range: bytes 10000-10000/*' "$BASE_URL/images/past"
  expect_error 416

  http -T "$T/ten" -H 'Content-Range: bytes 18446744073709551610-*/*' \
    "$BASE_URL/images/past"
  expect_error 416

  # A range of 2^64 bytes must not wrap around to a 0-byte write.
  http -X PUT --data-binary "" \
    -H 'Content-Range: bytes 0-18446744073709551615/*' "$BASE_URL/images/past"
  expect_error 416
  http -X PATCH --data-binary "" -H 'Content-Type: application/octet-stream' \
    -H 'Range: bytes=0-18446744073709551615' "$BASE_URL/images/past"
  expect_error 416

  same_file "$IMAGES/past.raw" "$T/past.orig"
  expect_eq "$(stat -c %s "$IMAGES/past.raw")" 10000 "file size"
}

@test "exactly up to SIZE is fine" {
  new_image edge 10000
  image_random "$T/ten" 10
  http -T "$T/ten" -H 'Content-Range: bytes 9990-9999/*' "$BASE_URL/images/edge"
  expect_written 10
  cp "$T/edge.orig" "$T/expected"
  write_at "$T/expected" 9990 "$T/ten"
  same_file "$IMAGES/edge.raw" "$T/expected"
}

@test "missing Content-Length: 400 or 411, image unchanged" {
  # API.md: missing Content-Length on PUT is 400, and "411 as HTTP says".
  # lighttpd answers 411 itself for a body-less PUT without
  # Content-Length and for a chunked body it would have to stream
  # (DESIGN.md); imagexfer answers 400 if it ever sees one.  Either way
  # nothing is written and it is never a success.
  new_image nolen 65536
  # No Content-Length and no Transfer-Encoding is, by RFC 9112 6.3, a
  # body of length 0, and lighttpd passes CONTENT_LENGTH=0 on: a 0-byte
  # write (200, bytes_written 0) is as right as 400/411 here.
  http -X PUT "$BASE_URL/images/nolen"
  if [ "$status_code" = 200 ]; then
    expect_written 0
  else
    [[ $status_code = 400 || $status_code = 411 ]] ||
      { show; fail "PUT without a body: expected 400 or 411, got $status_code"; }
  fi
  same_file "$IMAGES/nolen.raw" "$T/nolen.orig"

  image_random "$T/src" 3000
  # Chunked, arriving in pieces: the length is unknown when the request
  # has to be handed on.
  http -X PUT -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
    -T - "$BASE_URL/images/nolen" \
    < <(head -c 1000 "$T/src"; sleep 1; tail -c +1001 "$T/src")
  [[ $status_code = 400 || $status_code = 411 ]] ||
    { show; fail "streamed chunked PUT: expected 400 or 411, got $status_code"; }
  same_file "$IMAGES/nolen.raw" "$T/nolen.orig"
}

@test "a small chunked PUT that lighttpd receives whole: refused, or written exactly" {
  # lighttpd may read a short chunked body completely before it contacts
  # imagexfer and then passes its length as CONTENT_LENGTH: imagexfer sees
  # a request with a length, and 200 is right.  What must never happen
  # is a success with other bytes than those sent.
  new_image chunk 65536
  image_random "$T/src" 1000
  http -X PUT -H 'Transfer-Encoding: chunked' --data-binary @"$T/src" \
    -H 'Content-Type: application/octet-stream' "$BASE_URL/images/chunk"
  case $status_code in
    200)
      expect_written 1000
      cp "$T/chunk.orig" "$T/expected"
      write_at "$T/expected" 0 "$T/src"
      same_file "$IMAGES/chunk.raw" "$T/expected"
      ;;
    400|411)
      same_file "$IMAGES/chunk.raw" "$T/chunk.orig"
      ;;
    *)
      show; fail "small chunked PUT: got $status_code"
      ;;
  esac
}

@test "flush=y and flush=n: exact bodies, data written either way" {
  new_image fl 8192
  image_random "$T/a" 8192
  http -T "$T/a" "$BASE_URL/images/fl?flush=n"
  expect_written 8192 false
  same_file "$IMAGES/fl.raw" "$T/a"

  image_random "$T/b" 8192
  http -T "$T/b" "$BASE_URL/images/fl?flush=y"
  expect_written 8192 true
  same_file "$IMAGES/fl.raw" "$T/b"

  image_random "$T/c" 100
  http -T "$T/c" -H 'Content-Range: bytes 100-199/*' "$BASE_URL/images/fl?flush=n"
  expect_written 100 false
}

@test "flush with a bad value: 400" {
  new_image flbad 8192
  image_random "$T/a" 8192
  http -T "$T/a" "$BASE_URL/images/flbad?flush=maybe"
  expect_error 400
  same_file "$IMAGES/flbad.raw" "$T/flbad.orig"
}

@test "offset window: writes never change bytes outside the window" {
  T=$BATS_TEST_TMPDIR
  image_random "$IMAGES/host.raw" 3M
  cp "$IMAGES/host.raw" "$T/expected"
  local before_head before_tail
  before_head=$(extract "$IMAGES/host.raw" 0 1000003 | sha256sum)
  before_tail=$(extract "$IMAGES/host.raw" 1500004 9999999 | sha256sum)
  file_transfer w "$IMAGES/host.raw" '{"offset": 1000003, "size": 500001}'

  image_random "$T/full" 500001
  http -T "$T/full" "$BASE_URL/images/w"
  expect_written 500001
  write_at "$T/expected" 1000003 "$T/full"

  image_random "$T/piece" 333
  http -T "$T/piece" -H 'Content-Range: bytes 499668-500000/*' "$BASE_URL/images/w"
  expect_written 333
  write_at "$T/expected" $(( 1000003 + 499668 )) "$T/piece"

  # Past the window (though inside the file): 416.
  http -T "$T/piece" -H 'Content-Range: bytes 499669-*/*' "$BASE_URL/images/w"
  expect_error 416
  expect_header Content-Range 'bytes */500001'
  image_random "$T/toobig" 500002
  http -T "$T/toobig" "$BASE_URL/images/w"
  expect_error 416

  same_file "$IMAGES/host.raw" "$T/expected"
  expect_eq "$(extract "$IMAGES/host.raw" 0 1000003 | sha256sum)" "$before_head" "bytes before the window"
  expect_eq "$(extract "$IMAGES/host.raw" 1500004 9999999 | sha256sum)" "$before_tail" "bytes after the window"
  expect_eq "$(stat -c %s "$IMAGES/host.raw")" 3145728 "file size"
}

@test "read-only transfer: PUT is 403, closes the connection, image unchanged" {
  new_image ro 65536 '{"ops": ["read"]}'
  image_random "$T/src" 65536
  http -T "$T/src" "$BASE_URL/images/ro"
  expect_error 403
  http -T "$T/src" -H 'Content-Range: bytes 0-99/*' "$BASE_URL/images/ro"
  expect_error 403
  same_file "$IMAGES/ro.raw" "$T/ro.orig"
  expect_closed_by -T "$T/src" "$BASE_URL/images/ro"
  expect_eq "${lines[0]}" "403 1" "the PUT"
  same_file "$IMAGES/ro.raw" "$T/ro.orig"
}

@test "read_only: true is read-only too" {
  new_image ro2 4096 '{"read_only": true}'
  image_random "$T/src" 4096
  http -T "$T/src" "$BASE_URL/images/ro2"
  expect_error 403
  same_file "$IMAGES/ro2.raw" "$T/ro2.orig"
}

@test "ops [write] allows reading too" {
  new_image wo 4096 '{"ops": ["write"]}'
  http "$BASE_URL/images/wo"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/wo.orig"
  image_random "$T/src" 4096
  http -T "$T/src" "$BASE_URL/images/wo"
  expect_written 4096
  same_file "$IMAGES/wo.raw" "$T/src"
}

@test "PUT to an unknown id: 404" {
  image_random "$BATS_TEST_TMPDIR/src" 10
  http -T "$BATS_TEST_TMPDIR/src" "$BASE_URL/images/nobody-home"
  expect_error 404
}
