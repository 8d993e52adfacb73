#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# GET and HEAD /images/<id> (API.md section 2): full and ranged reads,
# exact headers, byte-exact bodies, 416/400, offset windows.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 2
  image_random "$IMAGES/odd.raw" 1048577
  image_random "$IMAGES/small.raw" 12345
  image_random "$IMAGES/one.raw" 1
  : > "$IMAGES/empty.raw"
  image_random "$IMAGES/big.raw" 3M
  file_transfer odd "$IMAGES/odd.raw"
  file_transfer small "$IMAGES/small.raw"
  file_transfer named "$IMAGES/small.raw" '{"filename": "disk-1.raw"}'
  file_transfer one "$IMAGES/one.raw"
  file_transfer empty "$IMAGES/empty.raw"
  # A window inside a bigger file: bytes [1000003, 1500004).
  file_transfer win "$IMAGES/big.raw" '{"offset": 1000003, "size": 500001}'
  # A descriptor size smaller than the file: the transfer is the prefix.
  file_transfer prefix "$IMAGES/big.raw" '{"size": 777}'
}

teardown_file () {
  stack_stop
}

# full_get ID FILE: a full GET answers 200 with the exact headers and body.
full_get () {
  http "$BASE_URL/images/$1"
  expect_status 200
  expect_header Content-Length "$(stat -c %s "$2")"
  expect_header Content-Type application/octet-stream
  expect_header Accept-Ranges bytes
  expect_body_is "$2"
}

# unsatisfiable ID RANGE-VALUE SIZE: 416 with Content-Range bytes */SIZE.
unsatisfiable () {
  http -H "Range: $2" "$BASE_URL/images/$1"
  expect_error 416
  expect_header Content-Range "bytes */$3"
}

@test "full GET of odd sizes: exact headers and bytes" {
  full_get odd "$IMAGES/odd.raw"
  expect_no_header Content-Disposition
  full_get small "$IMAGES/small.raw"
  full_get one "$IMAGES/one.raw"
}

@test "full GET of an empty transfer: 200, Content-Length 0" {
  full_get empty "$IMAGES/empty.raw"
  [ ! -s "$STACK_DIR/body" ]
}

@test "full GET with filename: Content-Disposition attachment" {
  full_get named "$IMAGES/small.raw"
  expect_disposition disk-1.raw
}

@test "ranged GET: no Content-Disposition on partial content" {
  ranged_get named "$IMAGES/small.raw" 0 99
  expect_no_header Content-Disposition
}

@test "HEAD: the headers of a full GET and no body" {
  local size
  size=$(stat -c %s "$IMAGES/odd.raw")
  http -I "$BASE_URL/images/odd"
  expect_status 200
  expect_header Content-Length "$size"
  expect_header Content-Type application/octet-stream
  expect_header Accept-Ranges bytes

  # On the wire: nothing after the header block (curl -I would not show a
  # body that should not be there, so read the raw connection).
  local conn
  exec {conn}<>"/dev/tcp/127.0.0.1/$STACK_PORT"
  printf 'HEAD /images/odd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&"$conn"
  timeout 10 cat <&"$conn" > "$BATS_TEST_TMPDIR/raw"
  exec {conn}<&-
  head -n 1 "$BATS_TEST_TMPDIR/raw" | grep -q '^HTTP/1\.1 200 '
  grep -qi "^Content-Length: $size"$'\r'"\$" "$BATS_TEST_TMPDIR/raw"
  # The response ends exactly with the blank line closing the headers.
  local total hdr
  total=$(stat -c %s "$BATS_TEST_TMPDIR/raw")
  hdr=$(grep -b -m1 -a $'^\r$' "$BATS_TEST_TMPDIR/raw" | cut -d: -f1)
  expect_eq "$total" "$(( hdr + 2 ))" "bytes on the wire for HEAD"
}

@test "HEAD with filename: the same Content-Disposition as GET" {
  http -I "$BASE_URL/images/named"
  expect_status 200
  expect_header Content-Length 12345
  expect_disposition disk-1.raw
}

@test "HEAD of an empty and a 1-byte transfer" {
  http -I "$BASE_URL/images/empty"
  expect_status 200
  expect_header Content-Length 0
  expect_header Accept-Ranges bytes
  http -I "$BASE_URL/images/one"
  expect_status 200
  expect_header Content-Length 1
}

@test "HEAD ignores Range: 200 and the whole size, whatever the Range" {
  local size range
  size=$(stat -c %s "$IMAGES/odd.raw")
  # A satisfiable range, one past the end, several, and a malformed one:
  # a GET would answer 206, 416, 416 and 400.
  for range in "bytes=0-99" "bytes=$size-" "bytes=0-1,5-6" "bytes=x-y"; do
    http -I -H "Range: $range" "$BASE_URL/images/odd"
    expect_status 200
    expect_header Content-Length "$size"
    expect_header Accept-Ranges bytes
    expect_no_header Content-Range
  done
}

@test "HEAD on an unknown id: 404" {
  http -I "$BASE_URL/images/nope"
  expect_status 404
}

@test "ranged GET bytes=A-B" {
  ranged_get odd "$IMAGES/odd.raw" 0 0
  ranged_get odd "$IMAGES/odd.raw" 1 4096
  ranged_get odd "$IMAGES/odd.raw" 524287 786431
  ranged_get odd "$IMAGES/odd.raw" 1048576 1048576
  ranged_get odd "$IMAGES/odd.raw" 0 1048576
  ranged_get one "$IMAGES/one.raw" 0 0
}

@test "ranged GET bytes=A- (open end)" {
  ranged_get odd "$IMAGES/odd.raw" 1000 1048576 'bytes=1000-'
  ranged_get small "$IMAGES/small.raw" 12344 12344 'bytes=12344-'
  ranged_get small "$IMAGES/small.raw" 0 12344 'bytes=0-'
}

@test "ranged GET bytes=-N (suffix)" {
  ranged_get odd "$IMAGES/odd.raw" 1048576 1048576 'bytes=-1'
  ranged_get odd "$IMAGES/odd.raw" 983040 1048576 'bytes=-65537'
  ranged_get small "$IMAGES/small.raw" 0 12344 'bytes=-12345'
  # A suffix longer than the transfer means all of it.
  ranged_get small "$IMAGES/small.raw" 0 12344 'bytes=-99999'
}

@test "ranged GET: B past the end is clipped" {
  ranged_get small "$IMAGES/small.raw" 12000 12344 'bytes=12000-12345'
  ranged_get small "$IMAGES/small.raw" 100 12344 'bytes=100-99999999999'
  ranged_get one "$IMAGES/one.raw" 0 0 'bytes=0-5'
}

@test "ranged GET: whitespace around tokens is accepted" {
  ranged_get small "$IMAGES/small.raw" 10 19 'bytes= 10 - 19 '
}

@test "416: A >= SIZE, with Content-Range bytes */SIZE" {
  unsatisfiable small 'bytes=12345-' 12345
  unsatisfiable small 'bytes=12345-12346' 12345
  unsatisfiable small 'bytes=99999999-' 12345
  unsatisfiable one 'bytes=1-1' 1
}

@test "416: any range of an empty transfer" {
  unsatisfiable empty 'bytes=0-' 0
  unsatisfiable empty 'bytes=0-0' 0
  unsatisfiable empty 'bytes=-1' 0
}

@test "416: several ranges" {
  unsatisfiable small 'bytes=0-1,4-5' 12345
  unsatisfiable small 'bytes=0-1, 100-' 12345
}

@test "416: bytes=-0 (empty suffix)" {
  unsatisfiable small 'bytes=-0' 12345
}

@test "400: Range syntax errors" {
  local r
  for r in 'bytes=abc' 'bytes=' 'bytes=-' 'bytes=1-2-3' 'bytes=5-3' \
           'bytes=+1-2' 'bytes=0x10-20' 'items=0-10' '0-10' \
           'bytes=1-a' 'bytes=99999999999999999999-' 'bytes=1.5-2'; do
    http -H "Range: $r" "$BASE_URL/images/small"
    echo "case: Range: $r"
    expect_error 400
  done
}

@test "random data: 20 random ranges are byte-exact" {
  local size=1048577 i a b
  for i in $(seq 20); do
    a=$(( (RANDOM * 32768 + RANDOM) % size ))
    b=$(( a + (RANDOM * 8 + RANDOM % 8) ))
    (( b < size )) || b=$(( size - 1 ))
    ranged_get odd "$IMAGES/odd.raw" "$a" "$b"
  done
}

@test "offset window: full GET returns exactly the window" {
  extract "$IMAGES/big.raw" 1000003 500001 > "$BATS_TEST_TMPDIR/win"
  full_get win "$BATS_TEST_TMPDIR/win"
  http -I "$BASE_URL/images/win"
  expect_status 200
  expect_header Content-Length 500001
}

@test "offset window: ranges are relative to the window and clipped at its end" {
  extract "$IMAGES/big.raw" 1000003 500001 > "$BATS_TEST_TMPDIR/win"
  ranged_get win "$BATS_TEST_TMPDIR/win" 0 9
  ranged_get win "$BATS_TEST_TMPDIR/win" 499991 500000 'bytes=-10'
  ranged_get win "$BATS_TEST_TMPDIR/win" 499000 500000 'bytes=499000-600000'
  unsatisfiable win 'bytes=500001-' 500001
}

@test "descriptor size smaller than the file: the transfer is the prefix" {
  extract "$IMAGES/big.raw" 0 777 > "$BATS_TEST_TMPDIR/prefix"
  full_get prefix "$BATS_TEST_TMPDIR/prefix"
  unsatisfiable prefix 'bytes=777-' 777
}

@test "GET on an unknown id: 404 JSON error" {
  http "$BASE_URL/images/unknown-id"
  expect_error 404
}

@test "keep-alive: several GETs over one connection" {
  run -0 curl -sS -o /dev/null -w '%{http_code} %{num_connects} %{size_download}\n' \
    "$BASE_URL/images/small" \
    --next -o /dev/null -w '%{http_code} %{num_connects} %{size_download}\n' \
    -r 0-9 "$BASE_URL/images/odd" \
    --next -o /dev/null -w '%{http_code} %{num_connects} %{size_download}\n' \
    "$BASE_URL/images/one"
  expect_eq "${lines[0]}" "200 1 12345"
  expect_eq "${lines[1]}" "206 0 10"
  expect_eq "${lines[2]}" "200 0 1"
}
