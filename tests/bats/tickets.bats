#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# oVirt ImageIO's control service (API.md 4) on the administrator's
# socket, driven the way vdsm drives it (vdsm/storage/imagetickets.py:
# an HTTP connection on the unix socket, Host localhost, the JSON body
# with a Content-Length and no Content-Type): PUT a ticket, GET it, PATCH
# its timeout, DELETE it, DELETE them all; and the transfers then used
# with curl on /images.

# shellcheck disable=SC2016 # jq programs in single quotes
bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

setup_file () {
  stack_start --workers 4 --conf-extra "image_roots = @IMAGES@" \
    --conf-extra "chunk_size = 64K" --conf-extra "cancel_timeout = 2"
}
teardown_file () { stack_stop; }
teardown () {
  local p
  for p in "$BATS_TEST_TMPDIR"/*.pid; do
    [ -e "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || :
    wait "$(cat "$p")" 2>/dev/null || :
  done
  nbd_stop_all
}

# vdsm's request: method, /tickets/<id>, optional JSON body.
vdsm () {   # METHOD ID [BODY]
  local args=(-X "$1" -H 'Content-Type:' -H 'Accept:')
  [ $# -ge 3 ] && args+=(--data-binary "$3")
  admin_http "/tickets/$2" "${args[@]}"
}

# A ticket as ovirt-engine hands it to vdsm for an upload or download.
ticket () {   # UUID URL SIZE OPS-JSON [EXTRA-JQ]
  jq -nc --arg u "$1" --arg url "$2" --argjson size "$3" --argjson ops "$4" \
    '{uuid: $u, size: $size, url: $url, timeout: 300, ops: $ops,
      sparse: true, transfer_id: ("transfer-" + $u),
      inactivity_timeout: 60} '"${5:+| $5}"
}

# Wait (bounded) until the ticket has a request in flight.
wait_in_flight () {   # ID
  for _ in $(seq 50); do
    vdsm GET "$1"
    jq -e '.connections == 1' "$STACK_DIR/body" >/dev/null && return 0
    sleep 0.1
  done
  show; fail "no request of $1 in flight after 5 s"
}

expect_ticket_error () {   # STATUS CODE MESSAGE-REGEX
  expect_status "$1"
  expect_header Content-Type application/json
  expect_json --arg c "$2" --arg m "$3" '.code == $c and (.message | test($m))'
}

@test "PUT a vdsm upload ticket: 200 with no body; GET shows it with its status" {
  image_sparse "$IMAGES/up.raw" 1M
  vdsm PUT up-1 "$(ticket up-1 "file://$IMAGES/up.raw" 1048576 '["write","read"]')"
  expect_status 200
  expect_header Content-Length 0
  [ -e "$SPOOL/up-1.json" ] || fail "no descriptor in the spool"
  vdsm GET up-1
  expect_status 200
  expect_header Content-Type application/json
  expect_json --arg u "file://$IMAGES/up.raw" \
    '.uuid == "up-1" and .size == 1048576 and .url == $u and .timeout == 300
     and .ops == ["write","read"] and .sparse == true
     and .transfer_id == "transfer-up-1" and .inactivity_timeout == 60
     and .active == false and .canceled == false and .connections == 0
     and .transferred == 0 and .idle_time >= 0 and .idle_time <= 2
     and (.expires | type == "number")'
  # Sliding timeout from the ticket's writing: about now + 60 (the
  # inactivity rule is the earlier one).
  expect_json --argjson now "$(date +%s)" '.expires >= $now + 57 and .expires <= $now + 62'
}

@test "the ticket's transfer: curl uploads and downloads it on /images, GET counts it" {
  image_sparse "$IMAGES/rw.raw" 2M
  image_random "$BATS_TEST_TMPDIR/src" 2M
  vdsm PUT rw-1 "$(ticket rw-1 "file://$IMAGES/rw.raw" 2097152 '["read","write"]')"
  expect_status 200
  http -T "$BATS_TEST_TMPDIR/src" "$BASE_URL/images/rw-1"
  expect_status 200
  expect_json '.ok == true and .bytes_written == 2097152'
  cmp "$IMAGES/rw.raw" "$BATS_TEST_TMPDIR/src"
  http "$BASE_URL/images/rw-1"
  expect_status 200
  expect_body_is "$BATS_TEST_TMPDIR/src"
  vdsm GET rw-1
  expect_status 200
  expect_json '.transferred == 2097152 and .active == false and .connections == 0'
}

@test "an NBD ticket (nbd:unix: url, read-only download) serves the export's bytes" {
  nbd_require nbdkit nbdinfo
  image_random "$IMAGES/nbd.raw" 1M
  nbd_kit dl file "$IMAGES/nbd.raw"
  vdsm PUT nbd-1 "$(ticket nbd-1 "nbd:unix:$(nbd_sock dl)" 1048576 '["read"]' \
                    '. + {filename: "vm-disk.raw"}')"
  expect_status 200
  http "$BASE_URL/images/nbd-1"
  expect_status 200
  expect_body_is "$IMAGES/nbd.raw"
  http -T "$IMAGES/nbd.raw" "$BASE_URL/images/nbd-1"
  expect_error 403 "write to a read-only ticket"
  vdsm GET nbd-1
  expect_json '.ops == ["read"] and .filename == "vm-disk.raw" and .transferred == 1048576'
}

@test "PUT again replaces the ticket (same transfer, counters kept)" {
  image_random "$IMAGES/re.raw" 64K
  vdsm PUT re-1 "$(ticket re-1 "file://$IMAGES/re.raw" 65536 '["read"]')"
  http "$BASE_URL/images/re-1"
  expect_status 200
  vdsm PUT re-1 "$(ticket re-1 "file://$IMAGES/re.raw" 65536 '["read","write"]')"
  expect_status 200
  vdsm GET re-1
  expect_json '.ops == ["read","write"] and .transferred == 65536'
}

@test "PUT bad tickets: 400 Invalid ticket, nothing written" {
  image_random "$IMAGES/bad.raw" 4096
  local good
  good=$(ticket bad-1 "file://$IMAGES/bad.raw" 4096 '["read"]')
  vdsm PUT bad-1 'not json'
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: '
  vdsm PUT bad-1 '["a list"]'
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: '
  vdsm PUT bad-1 "$(jq -c '.uuid = "other"' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: uuid'
  vdsm PUT bad-1 "$(jq -c '.ops = ["fly"]' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: .*ops'
  vdsm PUT bad-1 "$(jq -c '.size = "4K"' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: .*size'
  vdsm PUT bad-1 "$(jq -c '.url = "file:///etc/shadow"' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: .*image_roots'
  vdsm PUT bad-1 "$(jq -c '.url = "ftp://host/x"' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: '
  vdsm PUT bad-1 "$(jq -c '.read_onyl = true' <<<"$good")"
  expect_ticket_error 400 BAD_REQUEST 'did you mean'
  admin_http /tickets/bad-1 -X PUT
  expect_ticket_error 400 BAD_REQUEST '^Invalid ticket: '
  [ ! -e "$SPOOL/bad-1.json" ] || fail "a bad ticket was written"
  vdsm PUT 'a%20b' "$good"
  expect_ticket_error 400 BAD_REQUEST 'invalid ticket id'
  # Bodies are small documents; a huge one is refused before reading.
  admin_http /tickets/bad-1 -X PUT -H 'Content-Length: 99999999' --data-binary ''
  expect_status 413
}

@test "GET and PATCH of an absent ticket: 404; other methods: 405 with Allow" {
  vdsm GET nothing-here
  expect_ticket_error 404 NOT_FOUND 'nothing-here'
  vdsm PATCH nothing-here '{"timeout": 30}'
  expect_ticket_error 404 NOT_FOUND 'nothing-here'
  [ ! -e "$SPOOL/nothing-here.json" ] || fail "PATCH created a ticket"
  admin_http /tickets/x -X POST --data-binary ''
  expect_ticket_error 405 UNSUPPORTED 'POST'
  expect_header Allow 'GET, PUT, PATCH, DELETE'
  admin_http /tickets/
  expect_ticket_error 405 UNSUPPORTED 'GET'
  expect_header Allow DELETE
  admin_http /tickets/a/b
  expect_ticket_error 404 NOT_FOUND 'no such resource'
}

@test "PATCH {\"timeout\": N}: expires N seconds from now, atomically rewritten" {
  image_random "$IMAGES/ext.raw" 4096
  vdsm PUT ext-1 "$(ticket ext-1 "file://$IMAGES/ext.raw" 4096 '["read"]' 'del(.inactivity_timeout)')"
  vdsm GET ext-1
  expect_json --argjson now "$(date +%s)" '.expires >= $now + 297 and .expires <= $now + 302'
  vdsm PATCH ext-1 '{"timeout": 3600}'
  expect_status 200
  expect_header Content-Length 0
  vdsm GET ext-1
  expect_json --argjson now "$(date +%s)" \
    '.timeout == 3600 and .expires >= $now + 3597 and .expires <= $now + 3602
     and .uuid == "ext-1" and .transfer_id == "transfer-ext-1"'
  # Written like every descriptor: no temporary file left, file_mode.
  expect_eq "$(stat -c %a "$SPOOL/ext-1.json")" 640 "descriptor mode"
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ] || fail "a temporary file was left"
  http "$BASE_URL/images/ext-1"
  expect_status 200
}

@test "PATCH a ticket with an absolute expires moves it too; timeout 0 closes the ticket" {
  image_random "$IMAGES/abs.raw" 4096
  vdsm PUT abs-1 "$(ticket abs-1 "file://$IMAGES/abs.raw" 4096 '["read"]' \
                   'del(.inactivity_timeout) | . + {expires: 2000000000}')"
  vdsm PATCH abs-1 '{"timeout": 120}'
  expect_status 200
  vdsm GET abs-1
  expect_json --argjson now "$(date +%s)" '.expires >= $now + 117 and .expires <= $now + 122'
  vdsm PATCH abs-1 '{"timeout": 0}'
  expect_status 200
  http "$BASE_URL/images/abs-1"
  expect_error 403 "after PATCH timeout 0"
  vdsm GET abs-1
  expect_json '.state == "expired"'
  # And it can be extended again.
  vdsm PATCH abs-1 '{"timeout": 60}'
  http "$BASE_URL/images/abs-1"
  expect_status 200
}

@test "PATCH bad bodies: 400, the ticket unchanged" {
  image_random "$IMAGES/pb.raw" 4096
  vdsm PUT pb-1 "$(ticket pb-1 "file://$IMAGES/pb.raw" 4096 '["read"]')"
  cp "$SPOOL/pb-1.json" "$BATS_TEST_TMPDIR/before"
  local b
  for b in 'nope' '[]' '{}' '{"timeout": "60"}' '{"timeout": -1}' '{"timeout": 1.5}' \
           '{"timeout": true}' '{"timeout": null}' '{"timeout": 99999999999}'; do
    vdsm PATCH pb-1 "$b"
    expect_ticket_error 400 BAD_REQUEST 'Invalid patch'
  done
  cmp "$SPOOL/pb-1.json" "$BATS_TEST_TMPDIR/before"
}

@test "DELETE: 204, the transfer is cancelled (403), GET 404; again and never-seen: 204" {
  image_random "$IMAGES/del.raw" 4096
  vdsm PUT del-1 "$(ticket del-1 "file://$IMAGES/del.raw" 4096 '["read"]')"
  vdsm DELETE del-1
  expect_status 204
  [ ! -e "$SPOOL/del-1.json" ] || fail "the descriptor is still there"
  http "$BASE_URL/images/del-1"
  expect_error 403
  vdsm GET del-1
  expect_ticket_error 404 NOT_FOUND del-1
  vdsm DELETE del-1
  expect_status 204
  vdsm DELETE never-was
  expect_status 204
}

@test "DELETE waits for an upload in flight to stop at its next chunk, then 204" {
  image_sparse "$IMAGES/big.raw" 4M
  image_random "$BATS_TEST_TMPDIR/src" 4M
  vdsm PUT up-2 "$(ticket up-2 "file://$IMAGES/big.raw" 4194304 '["write"]')"
  # 256 KiB/s: a 64 KiB chunk every quarter second, 16 s in all.
  curl -sS --limit-rate 256K -T "$BATS_TEST_TMPDIR/src" -o /dev/null \
    -w '%{http_code}' "$BASE_URL/images/up-2" > "$BATS_TEST_TMPDIR/code" 2>/dev/null &
  echo $! > "$BATS_TEST_TMPDIR/up.pid"
  wait_in_flight up-2
  expect_json '.active == true'
  local t0=$SECONDS
  vdsm DELETE up-2
  expect_status 204
  (( SECONDS - t0 <= 2 )) || fail "DELETE took $((SECONDS - t0)) s"
  # Nothing of it is in flight any more, and the upload failed.
  admin_http /api/v2/transfers/up-2
  expect_json '.state == "cancelled" and .connections == 0'
  wait "$(cat "$BATS_TEST_TMPDIR/up.pid")" || :
  [ "$(cat "$BATS_TEST_TMPDIR/code")" != 200 ] || fail "the cut upload answered 200"
  ! cmp -s "$IMAGES/big.raw" "$BATS_TEST_TMPDIR/src" || fail "the whole image was written"
}

@test "DELETE with an upload stalled in flight: 409 after cancel_timeout; 204 once it ends" {
  image_sparse "$IMAGES/stall.raw" 4M
  image_random "$BATS_TEST_TMPDIR/src" 4M
  vdsm PUT st-1 "$(ticket st-1 "file://$IMAGES/stall.raw" 4194304 '["write"]')"
  # 1 KiB/s: the worker waits a minute for its next 64 KiB chunk.
  curl -sS --limit-rate 1K -T "$BATS_TEST_TMPDIR/src" -o /dev/null \
    "$BASE_URL/images/st-1" 2>/dev/null &
  echo $! > "$BATS_TEST_TMPDIR/up.pid"
  wait_in_flight st-1
  local t0=$SECONDS
  vdsm DELETE st-1
  expect_ticket_error 409 CONFLICT 'st-1 still in flight after 2 s'
  (( SECONDS - t0 >= 2 && SECONDS - t0 <= 5 )) || fail "DELETE took $((SECONDS - t0)) s"
  # Cancelled all the same: new requests are refused.
  http "$BASE_URL/images/st-1"
  expect_error 403
  # DELETE /tickets/ waits for it too, though its file is gone.
  admin_http /tickets/ -X DELETE
  expect_ticket_error 409 CONFLICT 'st-1 still in flight'
  # The client gives up; vdsm retries the DELETE.
  kill "$(cat "$BATS_TEST_TMPDIR/up.pid")"
  vdsm DELETE st-1
  expect_status 204
  admin_http /tickets/ -X DELETE
  expect_status 204
}

@test "DELETE /tickets/ removes every ticket" {
  image_random "$IMAGES/all.raw" 4096
  local id
  for id in all-1 all-2 all-3; do
    vdsm PUT "$id" "$(ticket "$id" "file://$IMAGES/all.raw" 4096 '["read"]')"
    expect_status 200
  done
  admin_http /tickets/ -X DELETE
  expect_status 204
  [ -z "$(ls "$SPOOL")" ] || fail "left in the spool: $(ls "$SPOOL")"
  for id in all-1 all-2 all-3; do
    http "$BASE_URL/images/$id"
    expect_error 403
  done
  admin_http /tickets -X DELETE
  expect_status 204
}

@test "/tickets on the TCP listener: 403 FORBIDDEN, nothing written" {
  image_random "$IMAGES/tcp.raw" 4096
  http -X PUT --data-binary "$(ticket tcp-1 "file://$IMAGES/tcp.raw" 4096 '["read"]')" \
    "$BASE_URL/tickets/tcp-1"
  expect_ticket_error 403 FORBIDDEN "administrator's socket"
  [ ! -e "$SPOOL/tcp-1.json" ] || fail "written over TCP"
  http -X DELETE "$BASE_URL/tickets/"
  expect_status 403
}
