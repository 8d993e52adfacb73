#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The http backend when the remote side fails: down, silent, its
# descriptor deleted (before and during a request), failing (5xx), TLS
# with the right CA, a wrong one, none, or insecure; a cancel at the
# gateway, also while the remote keeps a request waiting; descriptors
# that do not validate.  Every failure is a clear JSON error with the
# status of the remote's verdict, and the worker keeps serving.
# shellcheck disable=SC2154 # status_code and body come from http

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load http-helpers

MiB=1048576

setup_file () {
  command -v jq >/dev/null || return 0
  CERT_DIR=$BATS_FILE_TMPDIR/certs
  OTHER_CERT_DIR=$BATS_FILE_TMPDIR/other
  mkdir -p "$CERT_DIR" "$OTHER_CERT_DIR"
  make_test_cert "$CERT_DIR"
  make_test_cert "$OTHER_CERT_DIR"
  export CERT_DIR OTHER_CERT_DIR
  gateway_start --https "$CERT_DIR/cert.pem" "$CERT_DIR/key.pem" -- \
    --conf-extra "backend_timeout = 3"
}

teardown_file () {
  gateway_stop
}

setup () {
  gateway_setup
}

# A test's own host (the one that stops) never outlives it.
teardown () {
  if [ -n "${HOST2_STARTED:-}" ]; then
    stack_use host2
    stack_stop
    stack_use gateway
  fi
}

# The gateway still answers (the worker was not lost).
expect_serving () {
  http -X OPTIONS "$BASE_URL/images/*"
  expect_status 200 "the gateway after the failure"
}

@test "remote down: 503 with a reason, and the worker keeps serving" {
  local port
  port=$(_stack_pick_port)
  gw_transfer g-down "http://127.0.0.1:$port/images/x"
  http "$BASE_URL/images/g-down"
  expect_error 503
  [[ $body == *"remote http://127.0.0.1:$port"* ]] || fail "no remote named: $body"
  [[ $body != */images/x* ]] || fail "the remote's path (its id) shown: $body"
  http -X OPTIONS "$BASE_URL/images/g-down"
  expect_error 503
  expect_serving
}

@test "a host that stops while the gateway keeps a connection to it: 503" {
  # A host of this test's own, so the suite's stays up.
  HOST2_STARTED=yes
  stack_start --workers 1 || fail "the second host did not start"
  stack_save host2
  image_random "$IMAGES/h2.raw" 1M
  transfer_put h2 "{\"path\": \"$IMAGES/h2.raw\"}"
  local url=$BASE_URL/images/h2 img=$IMAGES/h2.raw
  stack_use gateway
  gw_transfer g-h2 "$url"
  http "$BASE_URL/images/g-h2"
  expect_status 200
  expect_body_is "$img"
  stack_use host2
  stack_stop
  stack_save host2
  stack_use gateway
  http "$BASE_URL/images/g-h2"
  expect_error 503
  expect_serving
}

@test "a remote that accepts and never answers: 503 after remote_timeout" {
  command -v python3 >/dev/null || skip "python3 not installed"
  local port=$(_stack_pick_port) t0
  python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$port" 3>&- &
  local pid=$!
  sleep 0.3
  gw_transfer g-mute "http://127.0.0.1:$port/images/x" '{"remote_timeout": 2}'
  t0=$SECONDS
  http --max-time 30 "$BASE_URL/images/g-mute"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  expect_error 503
  (( SECONDS - t0 <= 8 )) || fail "took $((SECONDS - t0)) s for a 2 s timeout"
  expect_serving
}

@test "remote descriptor deleted: the host's 403 (cancelled) and 404 (never seen) passed on" {
  host_file gone 1M
  gw_transfer g-gone "$HOST_URL/images/gone"
  http "$BASE_URL/images/g-gone"
  expect_status 200
  on_host transfer_rm gone
  http "$BASE_URL/images/g-gone"
  expect_error 403
  [[ $body == *g-gone* && $body != *'transfer gone '* ]] || fail "ids: $body"
  gw_transfer g-never "$HOST_URL/images/never-there"
  http "$BASE_URL/images/g-never"
  expect_error 404
  [[ $body != *never-there* ]] || fail "the host's id shown: $body"
  http -X OPTIONS "$BASE_URL/images/g-never"
  expect_error 404
  expect_serving
}

@test "remote descriptor deleted during a download: the download is cut, never a 200 with less" {
  image_sparse "$HOST_IMAGES/big.raw" 256M
  on_host transfer_put big "{\"path\": \"$HOST_IMAGES/big.raw\"}"
  gw_transfer g-big "$HOST_URL/images/big"
  local out=$T/big.out rc=0
  curl -sS --limit-rate 4M --max-time 60 -o "$out" "$BASE_URL/images/g-big" \
    2>"$out.err" &
  local cpid=$!
  sleep 1.5
  on_host transfer_rm big
  wait "$cpid" || rc=$?
  (( rc != 0 && rc != 28 )) || fail "curl: $rc $(cat "$out.err")"
  (( $(stat -c %s "$out") < 268435456 )) || fail "the whole image arrived"
  expect_serving
}

@test "remote failing (500): 502 with the remote's message" {
  on_host transfer_put bad "{\"path\": \"$HOST_IMAGES/no-such-file.raw\"}"
  gw_transfer g-bad "$HOST_URL/images/bad"
  http "$BASE_URL/images/g-bad"
  expect_error 502
  [[ $body == *"answered 500: cannot open the image of transfer g-bad"* ]] \
    || fail "remote message: $body"
  expect_serving
}

@test "TLS: the host's CA works, no CA or a wrong one is 502, insecure is explicit" {
  host_file tls 2M
  gw_transfer g-ca "$HOST_HTTPS_URL/images/tls" "{\"ca_file\": \"$CERT_DIR/cert.pem\"}"
  http "$BASE_URL/images/g-ca"
  expect_status 200
  expect_body_is "$T/tls.orig"
  image_random "$T/new" 2M
  http -T "$T/new" "$BASE_URL/images/g-ca"
  expect_written $((2 * MiB))
  same_file "$HOST_IMAGES/tls.raw" "$T/new"

  gw_transfer g-noca "$HOST_HTTPS_URL/images/tls"
  http "$BASE_URL/images/g-noca"
  expect_error 502
  [[ $body == *certificate* ]] || fail "reason: $body"
  gw_transfer g-wrong "$HOST_HTTPS_URL/images/tls" "{\"ca_file\": \"$OTHER_CERT_DIR/cert.pem\"}"
  http "$BASE_URL/images/g-wrong"
  expect_error 502
  [[ $body == *certificate* ]] || fail "reason: $body"
  gw_transfer g-missing-ca "$HOST_HTTPS_URL/images/tls" "{\"ca_file\": \"$T/none.pem\"}"
  http "$BASE_URL/images/g-missing-ca"
  expect_error 502

  gw_transfer g-insecure "$HOST_HTTPS_URL/images/tls" '{"insecure": true}'
  http "$BASE_URL/images/g-insecure"
  expect_status 200
  expect_body_is "$T/new"
  grep -q "open g-insecure: remote $HOST_HTTPS_URL: TLS certificate checks are off" \
    "$FCGI_LOG" || fail "insecure was silent"
  expect_serving
}

@test "cancel at the gateway stops a proxied download" {
  image_sparse "$HOST_IMAGES/cx.raw" 256M
  on_host transfer_put cx "{\"path\": \"$HOST_IMAGES/cx.raw\"}"
  gw_transfer g-cx "$HOST_URL/images/cx"
  local out=$T/cx.out rc=0 t0
  curl -sS --limit-rate 2M --max-time 60 -o "$out" "$BASE_URL/images/g-cx" \
    2>"$out.err" &
  local cpid=$!
  sleep 1.5
  kill -0 "$cpid" 2>/dev/null || fail "the download ended before the cancel"
  transfer_rm g-cx
  t0=$SECONDS
  wait "$cpid" || rc=$?
  (( rc != 0 && rc != 28 )) || fail "curl: $rc $(cat "$out.err")"
  (( SECONDS - t0 <= 20 )) || fail "cancel took $((SECONDS - t0)) s"
  http "$BASE_URL/images/g-cx"
  expect_error 403 "after the cancel"
}

@test "cancel at the gateway stops a request the remote keeps waiting, within seconds" {
  nbd_require nbdkit
  nbd_kit slow --filter=delay memory 8M rdelay=30
  on_host transfer_put slow "{\"socket\": \"$(nbd_sock slow)\"}"
  gw_transfer g-slow "$HOST_URL/images/slow" '{"remote_timeout": 60}'
  local out=$T/slow.out t0 answer
  curl -sS --max-time 60 -o "$out" -w '%{http_code}' \
    -H 'Range: bytes=0-4095' "$BASE_URL/images/g-slow" > "$out.code" 2>&1 &
  local cpid=$!
  sleep 2
  kill -0 "$cpid" 2>/dev/null || fail "the request ended before the cancel: $(cat "$out.code")"
  transfer_rm g-slow
  t0=$SECONDS
  wait "$cpid" || true
  answer=$(cat "$out.code")
  (( SECONDS - t0 <= 4 )) || fail "the request ran $((SECONDS - t0)) s after the cancel"
  [[ $answer != 206 ]] || fail "a 206 for a cancelled transfer"
  grep -q "g-slow: .*transfer g-slow was cancelled" "$FCGI_LOG" \
    || fail "no cancel in the log: $(grep g-slow "$FCGI_LOG")"
  expect_serving
}

@test "bad http descriptors are refused with a reason" {
  local d
  for d in \
    '{"url": "ftp://h/images/x"}|url: unsupported scheme' \
    '{"url": "http:///images/x"}|url: missing host' \
    '{"url": "https://user:pw@h/images/x"}|give credentials in' \
    '{"url": "http://h/images/x", "insecure": true}|insecure: only valid with an https:// url' \
    '{"url": "https://h/images/x", "insecure": true, "ca_file": "/ca.pem"}|insecure: conflicts with ca_file' \
    '{"url": "https://h/images/x", "ca_file": "ca.pem"}|ca_file: must be absolute' \
    '{"url": "https://h/images/x", "headers": {"Bad Name": "v"}}|is not a header name' \
    '{"url": "https://h/images/x", "headers": {"X-A": "v\r\nX-B: w"}}|X-A: must be a string without line breaks' \
    '{"url": "https://h/images/x", "headers": ["Authorization: x"]}|headers: must be an object' \
    '{"url": "https://h/images/x", "headers": {"range": "bytes=0-1"}}|headers: range is set by imagexfer' \
    '{"backend": "http"}|remote_url: required' \
    '{"path": "/x.raw", "insecure": true}|insecure: only valid with the http backend' \
    '{"url": "https://h/images/x", "remote_timeout": "5"}|remote_timeout' \
    '{"url": "https://h/images/x", "heders": {}}|did you mean'; do
    admin_http /api/v2/transfers/bad -X PUT -H 'Content-Type: application/json' \
      --data-binary "${d%%|*}"
    expect_status 400 "${d%%|*}"
    [[ $body == *"${d#*|}"* ]] || fail "for ${d%%|*}: expected '${d#*|}' in $body"
  done
  [ ! -e "$SPOOL/bad.json" ] || fail "an invalid descriptor was installed"
}

@test "imagexferctl add --url makes an http transfer" {
  host_file ctl 1M
  run -0 "$top_builddir/src/ctl/imagexferctl" --config "$STACK_DIR/imagexfer.conf" \
    add g-ctl --url "$HOST_URL/images/ctl" --read-only
  http "$BASE_URL/images/g-ctl"
  expect_status 200
  expect_body_is "$T/ctl.orig"
  http -X OPTIONS "$BASE_URL/images/g-ctl"
  expect_json '.max_writers == 0'
}
