#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The http backend as a gateway: a second imagexfer ("host") serves file
# and NBD transfers, this one serves http transfers pointing at them, and
# the whole /images contract holds through it, byte for byte: OPTIONS,
# GET (whole, ranged, HEAD, 416), PUT (whole, Content-Range, flush=n),
# PATCH zero/flush/ranged, extents (zero and dirty) and checksums equal
# to the host's, status in /api with the headers masked, and one kept
# connection to the host per worker.
# shellcheck disable=SC2154 # status_code and body come from http

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load http-helpers

MiB=1048576

setup_file () {
  command -v jq >/dev/null || return 0
  # One gateway worker: every request meets the connection the last kept.
  gateway_start -- --workers 1
}

teardown_file () {
  gateway_stop
}

setup () {
  gateway_setup
}

# same_answer PATH: the gateway and the host answer GET PATH with the
# same status and body (ids differ: the host's id is HID, ours GID).
same_answer () {
  http "$HOST_URL/images/$1"
  local host_status=$status_code host_body=$body
  http "$BASE_URL/images/$2"
  expect_status "$host_status" "$2 as the host's $1"
  expect_eq "$body" "$host_body" "body of $2 vs the host's $1"
}

@test "OPTIONS: the host's features and methods; a read-only host transfer is read-only here" {
  host_file rw 1M
  on_host transfer_put ro "{\"path\": \"$HOST_IMAGES/rw.raw\", \"ops\": [\"read\"]}"
  gw_transfer g-rw "$HOST_URL/images/rw"
  gw_transfer g-ro "$HOST_URL/images/ro"

  http -X OPTIONS "$BASE_URL/images/g-rw"
  expect_status 200
  expect_json '.features == ["extents","checksum","zero","flush"] and .max_writers > 0'
  expect_header Allow "OPTIONS, GET, HEAD, PUT, PATCH, POST"

  http -X OPTIONS "$BASE_URL/images/g-ro"
  expect_status 200
  expect_json '.features == ["extents","checksum"] and .max_writers == 0'
  expect_header Allow "OPTIONS, GET, HEAD"
  http -T "$T/rw.orig" "$BASE_URL/images/g-ro"
  expect_error 403 "PUT through a read-only remote"
}

@test "GET: whole, ranged, suffix, HEAD and 416, byte for byte" {
  host_file dl 5M
  gw_transfer g-dl "$HOST_URL/images/dl" '{"filename": "dl.raw"}'

  http "$BASE_URL/images/g-dl"
  expect_status 200
  expect_header Content-Length $((5 * MiB))
  expect_header Content-Type application/octet-stream
  expect_disposition dl.raw
  expect_body_is "$T/dl.orig"
  ranged_get g-dl "$T/dl.orig" 1 4096
  ranged_get g-dl "$T/dl.orig" $((4 * MiB - 7)) $((5 * MiB - 1)) "bytes=$((4 * MiB - 7))-"
  ranged_get g-dl "$T/dl.orig" $((5 * MiB - 100)) $((5 * MiB - 1)) "bytes=-100"

  http -I "$BASE_URL/images/g-dl"
  expect_status 200
  expect_header Content-Length $((5 * MiB))
  expect_header Accept-Ranges bytes

  http -H "Range: bytes=$((5 * MiB))-" "$BASE_URL/images/g-dl"
  expect_error 416
  expect_header Content-Range "bytes */$((5 * MiB))"
}

@test "PUT: whole and Content-Range pieces land on the host byte for byte; flush=n" {
  host_file up 4M
  gw_transfer g-up "$HOST_URL/images/up"
  image_random "$T/new" 4M

  http -T "$T/new" "$BASE_URL/images/g-up"
  expect_written $((4 * MiB))
  same_file "$HOST_IMAGES/up.raw" "$T/new"

  image_random "$T/piece" 300K
  http -T "$T/piece" -H "Content-Range: bytes 1000-$((1000 + 307200 - 1))/*" \
    "$BASE_URL/images/g-up?flush=n"
  expect_written 307200 false
  write_at "$T/new" 1000 "$T/piece"
  same_file "$HOST_IMAGES/up.raw" "$T/new"

  http -T "$T/piece" -H "Content-Range: bytes $((4 * MiB - 10))-*/*" \
    "$BASE_URL/images/g-up"
  expect_error 416 "a piece past the end"
}

@test "PATCH: zero, flush and a ranged binary write reach the host" {
  host_file pt 3M
  gw_transfer g-pt "$HOST_URL/images/pt"

  http -X PATCH -H 'Content-Type: application/json' \
    -d '{"op": "zero", "offset": 4096, "size": 1048576}' "$BASE_URL/images/g-pt"
  expect_status 200
  expect_json '.ok == true'
  head -c "$MiB" /dev/zero | write_at "$T/pt.orig" 4096
  same_file "$HOST_IMAGES/pt.raw" "$T/pt.orig"

  http -X PATCH -H 'Content-Type: application/json' -d '{"op": "flush"}' \
    "$BASE_URL/images/g-pt"
  expect_status 200
  http -X POST --data-binary '' "$BASE_URL/images/g-pt/flush"
  expect_status 200

  image_random "$T/blk" 4096
  http -X PATCH -H 'Range: bytes=8192-12287' --data-binary "@$T/blk" \
    "$BASE_URL/images/g-pt"
  expect_status 200
  write_at "$T/pt.orig" 8192 "$T/blk"
  same_file "$HOST_IMAGES/pt.raw" "$T/pt.orig"

  http -X PATCH -H 'Content-Type: application/json' \
    -d '{"op": "zero", "offset": 0, "size": 4194304}' "$BASE_URL/images/g-pt"
  expect_error 416 "zero past the end"
}

@test "a sparse file round trip is byte-exact; extents and checksums equal the host's" {
  image_sparse "$HOST_IMAGES/sp.raw" 64M
  printf 'data' | write_at "$HOST_IMAGES/sp.raw" $((10 * MiB))
  on_host transfer_put sp "{\"path\": \"$HOST_IMAGES/sp.raw\"}"
  gw_transfer g-sp "$HOST_URL/images/sp"

  http "$BASE_URL/images/g-sp"
  expect_status 200
  expect_body_is "$HOST_IMAGES/sp.raw"
  same_answer sp/extents g-sp/extents
  expect_extents_cover $((64 * MiB)) '["hole","length","start","zero"]'
  expect_json 'map(select(.zero == false)) | length >= 1'
  same_answer "sp/checksum" "g-sp/checksum"
  same_answer "sp/checksum?algorithm=sha256&block_size=1048576" \
    "g-sp/checksum?algorithm=sha256&block_size=1048576"
  # The host computed them: no data crossed, nothing computed here.
  grep -q 'checksum g-sp: remote GET .*/checksum: 200' "$FCGI_LOG" \
    || fail "the host's checksum was not asked for"
  ! grep -q 'checksum g-sp: .*computing it here' "$FCGI_LOG" \
    || fail "computed at the gateway"
  # A transfer of part of the host's image: computed here, by reading,
  # equal to the host's on the same part.
  on_host transfer_put sp-part \
    "{\"path\": \"$HOST_IMAGES/sp.raw\", \"size\": $((12 * MiB))}"
  gw_transfer g-sp-part "$HOST_URL/images/sp" "{\"size\": $((12 * MiB))}"
  same_answer "sp-part/checksum" "g-sp-part/checksum"
  grep -q 'checksum g-sp-part: .*computing it here' "$FCGI_LOG" \
    || fail "a part's checksum was not computed here"

  # Upload it back into another transfer: the same bytes arrive.
  image_sparse "$HOST_IMAGES/sp2.raw" 64M
  on_host transfer_put sp2 "{\"path\": \"$HOST_IMAGES/sp2.raw\"}"
  gw_transfer g-sp2 "$HOST_URL/images/sp2"
  http -T "$HOST_IMAGES/sp.raw" "$BASE_URL/images/g-sp2"
  expect_written $((64 * MiB))
  same_file "$HOST_IMAGES/sp2.raw" "$HOST_IMAGES/sp.raw"
}

@test "NBD on the host: data, zero extents and dirty extents passed through" {
  nbd_require qemu-nbd qemu-img qemu-io
  qemu-img create -q -f qcow2 "$T/top.qcow2" 8M
  qemu-io -f qcow2 -c 'write -P 0x11 0 6M' "$T/top.qcow2" >/dev/null
  qemu-img bitmap --add "$T/top.qcow2" b0
  qemu-io -f qcow2 -c 'write -P 0x55 1M 64k' "$T/top.qcow2" >/dev/null
  nbd_qemu bm -r -f qcow2 -B b0 -A -x vda "$T/top.qcow2"
  on_host transfer_put bm \
    "{\"socket\": \"$(nbd_sock bm)\", \"export\": \"vda\", \"export_bitmap\": \"b0\"}"
  gw_transfer g-bm "$HOST_URL/images/bm"

  same_answer bm/extents g-bm/extents
  expect_extents_cover $((8 * MiB)) '["hole","length","start","zero"]'
  same_answer "bm/extents?context=dirty" "g-bm/extents?context=dirty"
  expect_json --argjson m "$MiB" 'map(select(.dirty)) == [{"start": $m, "length": 65536, "dirty": true, "zero": false}]'
  http "$HOST_URL/images/bm"
  cp "$STACK_DIR/body" "$T/bm.host"
  http "$BASE_URL/images/g-bm"
  expect_status 200
  expect_body_is "$T/bm.host"

  # A file transfer has no dirty extents: the host's 404, passed on.
  host_file nod 1M
  gw_transfer g-nod "$HOST_URL/images/nod"
  http "$BASE_URL/images/g-nod/extents?context=dirty"
  expect_error 404
}

@test "/api and imagexferctl show the remote transfer with its headers masked; logs never hold them" {
  host_file st 1M
  on_host transfer_put st "{\"path\": \"$HOST_IMAGES/st.raw\"}"
  gw_transfer g-st "$HOST_URL/images/st" \
    '{"headers": {"Authorization": "Bearer s3cr3t-t0ken", "X-Trace": "tr4ce-v4lue"}}'
  http "$BASE_URL/images/g-st"
  expect_status 200
  expect_body_is "$T/st.orig"

  admin_http /api/v2/transfers/g-st
  expect_status 200
  expect_json --arg u "$HOST_URL/images/st" '.backend == "http" and .remote_url == $u
    and .headers == {"Authorization": "***", "X-Trace": "***"}
    and .bytes_read == 1048576 and .requests == 1 and .state == "ready"'
  [[ $body != *s3cr3t* && $body != *tr4ce* ]] || fail "a header value in /api: $body"

  run -0 "$top_builddir/src/ctl/imagexferctl" --config "$STACK_DIR/imagexfer.conf" show g-st
  [[ $output == *"Authorization: ***"* ]] || fail "imagexferctl show: $output"
  [[ $output != *s3cr3t* && $output != *tr4ce* ]] || fail "a header value in show: $output"
  ! grep -q -e s3cr3t -e tr4ce "$FCGI_LOG" || fail "a header value in the log"
  admin_http /api/v1/daemon
  expect_json '.backends | index("http") != null'
  admin_http /api/v1/metrics/backend
  expect_json '.http.bytes_read >= 1048576 and .http.requests >= 1'
}

@test "one kept connection to the host carries a worker's requests" {
  command -v ss >/dev/null || skip "ss (iproute2) not installed"
  host_file ku 1M
  gw_transfer g-ku "$HOST_URL/images/ku"
  for i in 0 1 2 3 4 5 6 7 8 9; do
    ranged_get g-ku "$T/ku.orig" $((i * 65536)) $((i * 65536 + 4095))
  done
  local worker ports
  worker=$(fcgi_worker_pids)
  # Seen from outside: the one worker holds one connection to the host.
  ports=$(ss -Htnp state established "( dport = :$HOST_PORT )" |
            grep -c "pid=$worker,") || true
  expect_eq "$ports" 1 "connections from the worker to the host"
  # And libcurl says so: one connection made, for the first request.
  expect_eq "$(grep -c 'g-ku: remote .*(new connection)' "$FCGI_LOG")" 1 \
    "new connections in the log"
  expect_eq "$(grep -c 'g-ku: remote .*(reused connection)' "$FCGI_LOG")" 11 \
    "reused connections in the log (OPTIONS, HEAD, 10 GETs)"
}
