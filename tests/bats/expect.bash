# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Assertions and fixtures shared by the bats suites (`load expect` after
# `load helpers`).  Every assertion prints the last response (show) and
# fails the test with a one-line reason.

fail () { printf '%s\n' "$*" >&2; return 1; }
show () {
  echo "# status: $status_code" >&2
  cat "$STACK_DIR/headers" >&2 2>/dev/null || :
  echo "# body: $body" >&2
}

# --- the last response (helpers.bash: http) ------------------------------
expect_eq () { [ "$1" = "$2" ] || { show; fail "${3:-value}: expected '$2', got '$1'"; }; }
# expect_status CODE [CONTEXT]: CONTEXT names the case in the message.
expect_status () { expect_eq "$status_code" "$1" "HTTP status${2:+ ($2)}"; }
expect_header () { expect_eq "$(header "$1")" "$2" "header $1"; }
expect_no_header () {
  [ -z "$(header "$1")" ] || { show; fail "unexpected header $1"; }
}
expect_json () {
  jq -e "$@" "$STACK_DIR/body" >/dev/null || { show; fail "JSON check failed: ${*: -1}"; }
}
expect_length () { expect_header Content-Length "$(stat -c %s "$STACK_DIR/body")"; }
# expect_error STATUS [CONTEXT]: a JSON {"error": "..."} answer.
expect_error () {
  expect_status "$1" "${2:-}"
  expect_header Content-Type application/json
  expect_json '(keys == ["error"]) and (.error | type == "string" and length > 0)'
  expect_length
}
expect_body_is () {  # FILE: the last response body equals FILE byte for byte
  cmp "$STACK_DIR/body" "$1" || { show; fail "body differs from $1"; }
}
# ranged_get ID FILE FIRST LAST [RANGE-VALUE]: GET with Range (default
# bytes=FIRST-LAST) answers 206 with bytes FIRST-LAST of FILE.
ranged_get () {
  local size
  size=$(stat -c %s "$2")
  http -H "Range: ${5:-bytes=$3-$4}" "$BASE_URL/images/$1"
  expect_status 206
  expect_header Content-Range "bytes $3-$4/$size"
  expect_header Content-Length "$(( $4 - $3 + 1 ))"
  extract "$2" "$3" "$(( $4 - $3 + 1 ))" > "$BATS_TEST_TMPDIR/expected"
  expect_body_is "$BATS_TEST_TMPDIR/expected"
}
# expect_disposition NAME: Content-Disposition names NAME, quoted or not
# (the same value, API.md).
expect_disposition () {
  local cd
  cd=$(header Content-Disposition)
  [ "$cd" = "attachment; filename=$1" ] || [ "$cd" = "attachment; filename=\"$1\"" ] ||
    { show; fail "Content-Disposition: got '$cd'"; }
}
# expect_extents_cover SIZE KEYS: the last body is an extent list with
# exactly KEYS (a jq array, sorted) in each item, covering [0, SIZE)
# without gaps or overlaps, adjacent items differing.
expect_extents_cover () {
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json --argjson size "$1" --argjson keys "$2" '
    type == "array"
    and all(.[]; (keys == $keys)
                 and (.start | type == "number" and . >= 0 and floor == .)
                 and (.length | type == "number" and . > 0 and floor == .))
    and (if length == 0 then $size == 0 else
           .[0].start == 0
           and (.[-1].start + .[-1].length) == $size
           and ([range(1; length) as $i
                 | .[$i].start == .[$i - 1].start + .[$i - 1].length
                   and (.[$i] | del(.start, .length))
                       != (.[$i - 1] | del(.start, .length))] | all)
         end)'
}
# expect_written N [FLUSHED]: the exact success body of a PUT.
expect_written () {
  expect_status 200
  expect_header Content-Type application/json
  expect_length
  expect_json --argjson n "$1" --argjson f "${2:-true}" \
    '. == {"ok": true, "bytes_written": $n, "flushed": $f}'
}
# The first request closed the connection: a second one in the same curl
# run needed a new connection.
expect_closed_by () {   # CURL-ARGS-OF-FIRST-REQUEST...
  run -0 curl -sS -o /dev/null -w '%{http_code} %{num_connects}\n' "$@" \
    --next -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -X OPTIONS "$BASE_URL/images/*"
  expect_eq "${lines[1]}" "200 1" "request after the first (connection reused?)"
}

# --- the management API, on the administrator's socket -------------------
api () { admin_http "/api/$1" "${@:2}"; }
# Wait (bounded) until a jq expression over GET /api/$1 holds.
wait_api () {   # PATH JQ-EXPR [TRIES of 0.1 s]
  local i
  for ((i = 0; i < ${3:-50}; i++)); do
    api "$1" && jq -e "$2" "$STACK_DIR/body" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  show; fail "timed out waiting for $2 on /api/$1"
}

# --- images and transfers ------------------------------------------------
file_transfer () {   # ID PATH [JSON object merged in]
  transfer_put "$1" "$(jq -nc --arg p "$2" --argjson x "${3:-{\}}" '{path: $p} + $x')"
}
# A fresh image and a transfer on it; the pristine copy is $T/ID.orig.
new_image () {       # ID SIZE [JSON object merged in]
  T=$BATS_TEST_TMPDIR
  image_random "$IMAGES/$1.raw" "$2"
  cp "$IMAGES/$1.raw" "$T/$1.orig"
  file_transfer "$1" "$IMAGES/$1.raw" "${3:-{\}}"
}
extract () {         # FILE OFFSET COUNT: those bytes of FILE on stdout
  dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}
write_at () {        # FILE OFFSET [PIECE]: PIECE (else stdin) into FILE at OFFSET
  dd if="${3:-/dev/stdin}" of="$1" bs=1M oflag=seek_bytes seek="$2" \
    conv=notrunc status=none
}
# The (one) worker serves again: an OPTIONS is answered 200 within
# SECONDS.  WHEN names the moment, for the message.
expect_worker_free () {   # SECONDS WHEN
  local t0=$SECONDS code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 \
           -X OPTIONS "$BASE_URL/images/*")
  expect_eq "$code" 200 "OPTIONS $2"
  (( SECONDS - t0 <= $1 )) || fail "the worker was held $((SECONDS - t0)) s"
}
# expect_download_cancelled ID [JSON]: a 256 MiB download of transfer ID (a new
# sparse image) at 2 MiB/s; its descriptor deleted 1.5 s in must stop it
# within 20 s, cut short: never a complete 200, never running on until
# the client gives up.
expect_download_cancelled () {  # JSON: an object merged into the descriptor
  local id=$1 out=$BATS_TEST_TMPDIR/$1.download rc=0 t0 cpid
  image_sparse "$IMAGES/$id.raw" 256M
  file_transfer "$id" "$IMAGES/$id.raw" "${2:-{\}}"
  curl -sS --limit-rate 2M --max-time 60 -o "$out" \
    -w '%{http_code} %{size_download}\n' "$BASE_URL/images/$id" \
    > "$out.curl" 2> "$out.err" &
  cpid=$!
  sleep 1.5
  transfer_rm "$id"
  t0=$SECONDS
  wait "$cpid" || rc=$?
  (( rc != 0 )) || fail "curl succeeded: $(cat "$out.curl")"
  (( rc != 28 )) || fail "the server kept sending until curl gave up (no cancel)"
  (( $(stat -c %s "$out") < 268435456 )) || fail "the whole image arrived"
  (( SECONDS - t0 <= 20 )) || fail "cancel took $((SECONDS - t0)) s"
}
same_file () {       # A B
  cmp "$1" "$2" || { show; fail "$1 and $2 differ"; }
}
