#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Transfer lifecycle on /images (API.md sections 1 and 2): expiry, invalid
# descriptors, cancellation by deleting the descriptor, transfer ids.

bats_require_minimum_version 1.5.0

load helpers
load expect

# The worker pool still serves a good transfer.
still_serving () {
  http "$BASE_URL/images/good"
  expect_status 200
  cmp "$STACK_DIR/body" "$IMAGES/good.raw"
}

setup_file () {
  stack_start --workers 2
  image_random "$IMAGES/good.raw" 4099
  file_transfer good "$IMAGES/good.raw"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

@test "expired (Unix seconds in the past): 403 for every method" {
  image_random "$IMAGES/old.raw" 1000
  cp "$IMAGES/old.raw" "$T/orig"
  file_transfer old "$IMAGES/old.raw" "{\"expires\": $(( $(date +%s) - 10 ))}"
  http "$BASE_URL/images/old"
  expect_error 403
  http -r 0-9 "$BASE_URL/images/old"
  expect_error 403
  http -I "$BASE_URL/images/old"
  expect_status 403
  http -X OPTIONS "$BASE_URL/images/old"
  expect_error 403
  http -T "$T/orig" "$BASE_URL/images/old"
  expect_error 403
  http -X PATCH -H 'Content-Type: application/json' \
    --data-binary '{"op": "zero", "size": 10}' "$BASE_URL/images/old"
  expect_error 403
  http "$BASE_URL/images/old/extents"
  expect_error 403
  cmp "$IMAGES/old.raw" "$T/orig"
}

@test "expired: the 403 closes the connection" {
  image_random "$IMAGES/old2.raw" 1000
  file_transfer old2 "$IMAGES/old2.raw" '{"expires": 1000000000}'
  expect_closed_by "$BASE_URL/images/old2"
  expect_eq "${lines[0]}" "403 1" "GET of the expired transfer"
}

@test "expired (RFC 3339 in the past, several forms): 403" {
  image_random "$IMAGES/old3.raw" 1000
  local e
  for e in 2001-09-09T01:46:40Z 2020-01-01T00:00:00+02:00 \
           2020-01-01T00:00:00.250Z 2020-06-30T23:59:59-07:00; do
    file_transfer old3 "$IMAGES/old3.raw" "{\"expires\": \"$e\"}"
    http "$BASE_URL/images/old3"
    echo "case: expires: $e"
    expect_error 403
  done
}

@test "expires in the future (Unix and RFC 3339): served" {
  image_random "$IMAGES/fut.raw" 1000
  file_transfer fut "$IMAGES/fut.raw" "{\"expires\": $(( $(date +%s) + 3600 ))}"
  http "$BASE_URL/images/fut"
  expect_status 200
  cmp "$STACK_DIR/body" "$IMAGES/fut.raw"
  file_transfer fut "$IMAGES/fut.raw" \
    "{\"expires\": \"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}"
  http "$BASE_URL/images/fut"
  expect_status 200
  file_transfer fut "$IMAGES/fut.raw" \
    "{\"expires\": \"$(date -d '+1 hour' +%Y-%m-%dT%H:%M:%S%:z)\"}"
  http "$BASE_URL/images/fut"
  expect_status 200
}

@test "an expiry reached while the transfer is in use: 403 from then on" {
  image_random "$IMAGES/soon.raw" 1000
  file_transfer soon "$IMAGES/soon.raw" "{\"expires\": $(( $(date +%s) + 2 ))}"
  http "$BASE_URL/images/soon"
  expect_status 200
  sleep 3
  http "$BASE_URL/images/soon"
  expect_error 403
}

@test "read-only transfer: writes 403 and close the connection" {
  image_random "$IMAGES/ro.raw" 1000
  cp "$IMAGES/ro.raw" "$T/orig"
  file_transfer ro "$IMAGES/ro.raw" '{"ops": ["read"]}'
  http -T "$T/orig" "$BASE_URL/images/ro"
  expect_error 403
  expect_closed_by -X PATCH -H 'Content-Type: application/json' \
    --data-binary '{"op": "flush"}' "$BASE_URL/images/ro"
  expect_eq "${lines[0]}" "403 1" "PATCH flush on read-only"
  cmp "$IMAGES/ro.raw" "$T/orig"
}

@test "invalid descriptors: 404, logged, and the workers keep serving" {
  image_random "$IMAGES/inv.raw" 1000
  local j i=0
  while IFS= read -r j; do
    i=$((i + 1))
    printf '%s' "${j//@IMG@/$IMAGES/inv.raw}" > "$SPOOL/bad$i.json"
    http "$BASE_URL/images/bad$i"
    echo "case: descriptor: $j"
    expect_error 404
    still_serving
  done <<'EOF'
{"path": "@IMG@", "si
{"path": "@IMG@",
{
not json at all

[]
"@IMG@"
{"path": 5}
{"path": "relative/disk.raw"}
{"path": "@IMG@", "size": "10"}
{"path": "@IMG@", "size": -1}
{"path": "@IMG@", "size": 1.5}
{"path": "@IMG@", "offset": -1}
{"path": "@IMG@", "offset": "0"}
{"path": "@IMG@", "ops": "read"}
{"path": "@IMG@", "ops": ["read", "delete"]}
{"path": "@IMG@", "ops": []}
{"path": "@IMG@", "read_only": "yes"}
{"path": "@IMG@", "expires": "tomorrow"}
{"path": "@IMG@", "expires": true}
{"path": "@IMG@", "backend": "ftp"}
{"path": "@IMG@", "sparse": "no"}
{"path": "@IMG@", "filename": 7}
{"url": "ftp://example.org/disk"}
{"url": "file://relative"}
{}
EOF
  # Fixing the file makes the transfer usable (no stale cache of invalid).
  file_transfer bad1 "$IMAGES/inv.raw"
  http "$BASE_URL/images/bad1"
  expect_status 200
  cmp "$STACK_DIR/body" "$IMAGES/inv.raw"
}

@test "files not ending in .json, and temporary files, are ignored" {
  image_random "$IMAGES/ign.raw" 100
  local d
  d=$(jq -nc --arg p "$IMAGES/ign.raw" '{path: $p}')
  printf '%s' "$d" > "$SPOOL/plain"
  printf '%s' "$d" > "$SPOOL/plain.json.tmp"
  printf '%s' "$d" > "$SPOOL/.hidden.json"
  http "$BASE_URL/images/plain"
  expect_error 404
  http "$BASE_URL/images/plain.json"
  expect_error 404
  http "$BASE_URL/images/plain.json.tmp"
  expect_error 404
}

@test "descriptor deleted mid-download: the download fails, never a complete 200" {
  expect_download_cancelled long
}

@test "after the descriptor is deleted, new requests get 403 and the connection closes" {
  # API.md section 1: deleting the file cancels the transfer, "new ones
  # get 403"; an id the server never saw stays 404.
  image_random "$IMAGES/gone.raw" 1000
  file_transfer gone "$IMAGES/gone.raw"
  http "$BASE_URL/images/gone"
  expect_status 200
  transfer_rm gone
  # The management API says the same, before any request noticed.
  admin_http /api/v2/transfers/gone
  expect_status 200
  expect_json '.state == "cancelled"'
  http "$BASE_URL/images/gone"
  expect_error 403
  expect_json '.error == "transfer gone was cancelled"'
  expect_header Connection close
  http -X OPTIONS "$BASE_URL/images/gone"
  expect_error 403
  expect_closed_by "$BASE_URL/images/gone"
  http "$BASE_URL/images/never-seen"
  expect_error 404
}

@test "invalid ids that reach the program: 400 invalid transfer id" {
  local long129 id
  long129=$(printf 'a%.0s' $(seq 129))
  for id in .hidden .x.json "$long129" 'a%20b' 'a~b' 'a%25b' 'caf%C3%A9' 'a:b' \
            'a+b' 'a%00b' 'a%0Ab' 'a;b' 'a,b' 'a%22b'; do
    http --path-as-is "$BASE_URL/images/$id"
    if [ "$status_code" = 400 ] && [ "$(header Content-Type)" != application/json ]; then
      # lighttpd's own rejection of a URL it will not pass on (NUL, LF):
      # also a 400 before any file is opened.
      continue
    fi
    echo "case: id: $id"
    expect_error 400
    expect_json '.error | test("invalid transfer id")' || fail "id: $id"
  done
}

@test "an empty id (/images//x, /images/%2Fx, /images/): 404 no such resource" {
  # Nothing names a transfer there: like any unknown resource, 404, and
  # the spool is never touched.
  local u
  for u in '/images//x' '/images/%2Fx' '/images//extents' '/images/'; do
    http --path-as-is "$BASE_URL$u"
    echo "case: $u"
    expect_error 404
    expect_json '.error | startswith("no such resource")'
  done
}

@test "path traversal attempts never reach a file outside the spool" {
  # A valid descriptor outside the spool, next to it, that must never be
  # used.  lighttpd normalizes some of these URLs itself (dot segments,
  # %2e) and answers 400/404 before imagexfer sees them; the rest reach
  # imagexfer.  Either way: rejected, never 200.
  image_random "$IMAGES/secret.raw" 100
  file_transfer good "$IMAGES/good.raw"
  jq -nc --arg p "$IMAGES/secret.raw" '{path: $p}' > "$STACK_DIR/evil.json"
  local u
  for u in '/images/..' '/images/../evil' '/images/%2e%2e' '/images/%2e%2e/evil' \
           '/images/..%2fevil' '/images/..%2Fevil' '/images/%2e%2e%2fevil' \
           '/images/.%2e/evil' '/images/..%5cevil' '/images/%2fevil' \
           '/images//evil' '/images/good/../../evil' '/images/....%2f..%2fevil'; do
    http --path-as-is "$BASE_URL$u"
    # lighttpd maps "/images/.." to "/", its (index-less) document root:
    # its own HTML 403.  imagexfer itself answers 400 or 404.
    if [[ $status_code = 403 && $(header Content-Type) = text/html ]]; then
      continue
    fi
    [[ $status_code = 400 || $status_code = 404 ]] ||
      { show; fail "$u: expected 400 or 404, got $status_code"; }
  done
  # The spool's own files are still fine.
  still_serving
}

@test "ids at the edge of validity are served" {
  local long128 id
  long128=$(printf 'b%.0s' $(seq 128))
  image_random "$IMAGES/edge.raw" 100
  for id in "$long128" a A9.b-c_d x 0 'dots.in.the.middle.' 'trailing-'; do
    file_transfer "$id" "$IMAGES/edge.raw"
    http "$BASE_URL/images/$id"
    echo "case: id: $id"
    expect_status 200
    cmp "$STACK_DIR/body" "$IMAGES/edge.raw"
  done
}

@test "without image_roots, /api writes no file transfers (400), only the spool does" {
  image_random "$IMAGES/noroots.raw" 4096
  admin_http /api/v2/transfers/noroots -X PUT \
    --data-binary "$(jq -nc --arg p "$IMAGES/noroots.raw" '{path: $p}')"
  expect_status 400
  expect_json '.code == "BAD_REQUEST" and (.message | test("image_roots"))'
  [ ! -e "$SPOOL/noroots.json" ] || fail "the refused descriptor was written"
}
