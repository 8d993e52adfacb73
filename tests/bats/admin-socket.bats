#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Who may create, list and cancel transfers (API.md 3): the shipped
# lighttpd and nginx snippets serve /api and /tickets on the
# administrator's socket only.  An unprivileged account is refused on
# every listener the deployment opens (HTTP, HTTPS, the socket); root
# and the admin group get in through the socket; with admin_tcp =
# loopback a foreign Origin or Host is still refused; /api never sends
# CORS headers, /images follows cors_origins.

# shellcheck disable=SC2016 # jq programs in single quotes
bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
  [ "$(id -u)" -eq 0 ] || skip "needs root to act as nobody and as the admin group"
  id nobody >/dev/null 2>&1 || skip "no user nobody"
  CERT_DIR=$(mktemp -d "${BATS_FILE_TMPDIR}/cert.XXXXXX")
  make_test_cert "$CERT_DIR" || skip "openssl cannot make a certificate"
  export CERT_DIR
}

teardown () { stack_stop; }

# A stack with HTTP, HTTPS and the admin socket, one transfer "t1".
start () {   # FRONT [stack_start options]...
  local front=$1
  shift
  if [ "$front" = lighttpd ] && [ ! -e /usr/lib/lighttpd/mod_openssl.so ]; then
    skip "lighttpd-mod-openssl is not installed"
  fi
  if [ "$front" = nginx ] && [ ! -x "$NGINX" ]; then
    skip "nginx is not installed"
  fi
  stack_start --front "$front" --https "$CERT_DIR/cert.pem" "$CERT_DIR/key.pem" \
    --conf-extra "image_roots = @IMAGES@" "$@"
  image_random "$IMAGES/t1.raw" 64K
  transfer_put t1 "{\"path\": \"$IMAGES/t1.raw\"}"
}

# curl as another account; sets status_code (000: no connection) and
# body, and leaves the body in $STACK_DIR/body for expect_json.
as_user () {   # SETPRIV-ARGS... -- CURL-ARGS...
  local setpriv_args=() out
  while [ "$1" != -- ]; do setpriv_args+=("$1"); shift; done
  shift
  # HTTP/1.1: lighttpd 1.4.69 over HTTP/2 now and then resets the stream
  # of a request whose body it had not read when the answer came (curl:
  # "(92) Stream error"), whatever the answer; that would hide the status.
  out=$(setpriv "${setpriv_args[@]}" curl -sS -k --http1.1 -w '\n%{http_code}' \
          "$@" 2>&1) || :
  status_code=${out##*$'\n'}
  body=${out%$'\n'*}
  printf '%s' "$body" > "$STACK_DIR/body"
  : > "$STACK_DIR/headers"
  return 0
}
NOBODY=(--reuid=nobody --regid=nogroup --clear-groups)
admin_group () { echo --reuid=nobody --regid=nogroup "--groups=$ADMIN_GID"; }

# Every administrator's request an attacker would make, on one URL base:
# each refused with 403 FORBIDDEN, and nothing changed in the spool.
expect_all_refused () {   # BASE-URL SETPRIV-ARGS...
  local base=$1 what
  shift
  # Each request is words; the JSON's quotes are meant literally.
  # shellcheck disable=SC2089,SC2090
  for what in "-X PUT --data-binary {\"path\":\"/etc/shadow\"} $base/api/v2/transfers/evil" \
              "$base/api/v2/transfers" \
              "-X DELETE $base/api/v2/transfers/t1" \
              "-X PUT --data-binary {\"url\":\"file:///etc/shadow\"} $base/tickets/evil" \
              "$base/tickets/t1" \
              "-X DELETE $base/tickets/t1" \
              "-X DELETE $base/tickets/"; do
    # shellcheck disable=SC2086,SC2090 # the request is words
    as_user "$@" -- $what
    expect_status 403 "$what"
    expect_json '.code == "FORBIDDEN"'
  done
  [ ! -e "$SPOOL/evil.json" ] || fail "a refused request wrote a transfer"
  [ -e "$SPOOL/t1.json" ] || fail "a refused request cancelled t1"
}

# Through the admin socket, as an account that may not open it.
expect_socket_refused () {   # SETPRIV-ARGS...
  as_user "$@" -- --unix-socket "$ADMIN_SOCKET" http://localhost/api/v2/transfers
  expect_eq "$status_code" 000 "status through the admin socket"
  [[ $body == *"Couldn't connect"* || $body == *"Permission denied"* ]] \
    || fail "expected a refused connection, got: $body"
  as_user "$@" -- --unix-socket "$ADMIN_SOCKET" -X DELETE http://localhost/tickets/t1
  expect_eq "$status_code" 000 "status of DELETE through the admin socket"
  [ -e "$SPOOL/t1.json" ] || fail "t1 was cancelled"
}

# root through the socket: create, list, cancel.
expect_root_manages () {
  admin_http /api/v2/transfers/r1 -X PUT \
    --data-binary "{\"path\": \"$IMAGES/t1.raw\"}"
  expect_status 201
  admin_http /api/v2/transfers
  expect_status 200
  expect_json '[.transfers[] | select(.state != "cancelled") | .id] == ["r1", "t1"]'
  admin_http /api/v2/transfers/r1 -X DELETE
  expect_status 204
  [ ! -e "$SPOOL/r1.json" ] || fail "r1 was not cancelled"
}

refused_everywhere () {
  start "$1"
  expect_all_refused "$BASE_URL" "${NOBODY[@]}"
  expect_all_refused "$HTTPS_URL" "${NOBODY[@]}"
  expect_socket_refused "${NOBODY[@]}"
  # The same refusal for root on TCP: the socket is the only way in.
  http "$BASE_URL/api/v2/transfers"
  expect_status 403
  expect_header Content-Type application/json
  expect_no_header Access-Control-Allow-Origin
  # The mark of the admin socket cannot be sent as a header.
  http -H 'IMAGEXFER_LISTENER: admin' -H 'Imagexfer-Listener: admin' \
    "$BASE_URL/api/v2/transfers"
  expect_api_json_error 403 FORBIDDEN
  # The socket and its directory as the snippets expect them.
  expect_eq "$(stat -c '%a %g' "$ADMIN_DIR")" "2750 $ADMIN_GID" "admin directory"
  expect_eq "$(stat -c %g "$ADMIN_SOCKET")" "$ADMIN_GID" "admin socket group"
}

admin_allowed () {
  start "$1"
  expect_root_manages
  # shellcheck disable=SC2046 # the options are words
  as_user $(admin_group) -- --unix-socket "$ADMIN_SOCKET" \
    -X PUT --data-binary "{\"path\": \"$IMAGES/t1.raw\"}" \
    http://localhost/api/v2/transfers/g1
  expect_status 201
  # shellcheck disable=SC2046
  as_user $(admin_group) -- --unix-socket "$ADMIN_SOCKET" \
    http://localhost/api/v2/transfers
  expect_status 200
  expect_json '[.transfers[] | select(.state != "cancelled") | .id] == ["g1", "t1"]'
  # shellcheck disable=SC2046
  as_user $(admin_group) -- --unix-socket "$ADMIN_SOCKET" -X DELETE \
    http://localhost/tickets/g1
  expect_status 204
  [ ! -e "$SPOOL/g1.json" ] || fail "g1 was not cancelled"
  # The group alone is not the way in over TCP.
  # shellcheck disable=SC2046
  as_user $(admin_group) -- "$BASE_URL/api/v2/transfers"
  expect_status 403
}

expect_api_json_error () {   # STATUS CODE
  expect_status "$1"
  expect_json --arg c "$2" '.code == $c and (.message | length > 0)'
}

tcp_loopback () {
  start "$1" --conf-extra "admin_tcp = loopback"
  local port=$STACK_PORT
  http "$BASE_URL/api/v2/transfers"
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
  http -H "Host: localhost:$port" "$BASE_URL/api/v1/daemon"
  expect_status 200
  http -H "Host: [::1]:$port" -H "Origin: http://localhost:$port" \
    "$BASE_URL/api/v1/daemon"
  expect_status 200
  # DNS rebinding: a name of the attacker's pointing at 127.0.0.1.
  # (Malformed ports never get this far: the web servers answer 400.)
  for host in evil.example "localhost.evil.example" "127.0.0.1.evil.example:$port" \
              "127.0.0.2:$port"; do
    http -H "Host: $host" "$BASE_URL/api/v2/transfers"
    expect_api_json_error 403 FORBIDDEN
  done
  # A web page in a browser: a foreign Origin, also on a preflight.
  for origin in http://evil.example "http://localhost.evil.example" null; do
    http -H "Origin: $origin" -X DELETE "$BASE_URL/api/v2/transfers/t1"
    expect_api_json_error 403 FORBIDDEN
    expect_no_header Access-Control-Allow-Origin
  done
  http -X OPTIONS -H 'Origin: http://evil.example' \
    -H 'Access-Control-Request-Method: PUT' "$BASE_URL/tickets/t1"
  expect_api_json_error 403 FORBIDDEN
  expect_no_header Access-Control-Allow-Origin
  [ -e "$SPOOL/t1.json" ] || fail "a refused request cancelled t1"
  # Another peer than exactly 127.0.0.1 (the rest of 127.0.0.0/8 is not
  # this host's loopback client to trust).
  if ip -o addr show lo 2>/dev/null | grep -q '127.0.0.1/8'; then
    http --interface 127.0.0.2 "$BASE_URL/api/v2/transfers"
    expect_api_json_error 403 FORBIDDEN
  fi
}

@test "cors_origins default (*): /images answers any Origin with *, /api with nothing" {
  start lighttpd
  http -H 'Origin: https://engine.example' "$BASE_URL/images/t1"
  expect_status 200
  expect_header Access-Control-Allow-Origin '*'
  http -X OPTIONS -H 'Origin: https://engine.example' \
    -H 'Access-Control-Request-Method: PUT' "$BASE_URL/images/t1"
  expect_status 200
  expect_header Access-Control-Allow-Origin '*'
  expect_header Access-Control-Allow-Headers '*'
  expect_header Access-Control-Max-Age 86400
  expect_header Access-Control-Allow-Methods 'OPTIONS, GET, HEAD, PUT, PATCH, POST'
  http "$BASE_URL/images/t1"
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
  admin_http /api/v2/transfers/t1 -H 'Origin: https://engine.example'
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
}

@test "cors_origins listed: only those origins, echoed with Vary: Origin" {
  start nginx --conf-extra "cors_origins = https://engine.example http://127.0.0.1:8080"
  http -H 'Origin: https://engine.example' "$BASE_URL/images/t1"
  expect_status 200
  expect_header Access-Control-Allow-Origin https://engine.example
  expect_header Vary Origin
  http -X OPTIONS -H 'Origin: http://127.0.0.1:8080' \
    -H 'Access-Control-Request-Method: PUT' "$BASE_URL/images/t1"
  expect_header Access-Control-Allow-Origin http://127.0.0.1:8080
  expect_header Access-Control-Max-Age 86400
  http -H 'Origin: https://evil.example' "$BASE_URL/images/t1"
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
  cmp "$STACK_DIR/body" "$IMAGES/t1.raw"
}

@test "cors_origins = none: no CORS headers at all on /images" {
  start lighttpd --conf-extra "cors_origins = none"
  http -H 'Origin: https://engine.example' "$BASE_URL/images/t1"
  expect_status 200
  expect_no_header Access-Control-Allow-Origin
  expect_no_header Vary
}

@test "lighttpd: nobody is refused on HTTP, HTTPS and the admin socket" {
  refused_everywhere lighttpd
}
@test "nginx: nobody is refused on HTTP, HTTPS and the admin socket" {
  refused_everywhere nginx
}
@test "lighttpd: root and the admin group manage transfers through the socket" {
  admin_allowed lighttpd
}
@test "nginx: root and the admin group manage transfers through the socket" {
  admin_allowed nginx
}
@test "lighttpd: admin_tcp = loopback: local Host only, no foreign Origin, no other peer" {
  tcp_loopback lighttpd
}
@test "nginx: admin_tcp = loopback: local Host only, no foreign Origin, no other peer" {
  tcp_loopback nginx
}
