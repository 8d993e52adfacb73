#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# NBD failures an operator can act on (API.md section 2): server not
# listening (503 naming the socket), server killed mid-transfer (the
# request fails, the worker survives, the next one succeeds), EIO (500
# naming the operation and offset), ENOSPC (507), a slow server, and 8
# parallel writers through one shared export.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576

setup_file () {
  for t in qemu-nbd nbdkit nbdcopy nbdinfo jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  # A short backend_timeout: the stopped-server test waits for it.
  # 8 writers at once on one transfer: above the default per-transfer
  # cap (one less than the workers), which would answer one 503.
  stack_start --workers 8 --conf-extra "backend_timeout = 3" \
    --conf-extra "max_writers = 8"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require qemu-nbd nbdkit nbdcopy nbdinfo jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

teardown () {
  local pid
  for pid in ${CURL_PIDS:-}; do
    kill "$pid" 2>/dev/null || :
  done
  nbd_stop_all
}

# The worker pids, sorted, on one line.
workers_now () {
  fcgi_worker_pids | sort -n | tr '\n' ' '
}

# expect_error_mentions WORD...: the JSON error message has every WORD.
expect_error_mentions () {
  local w
  for w in "$@"; do
    expect_json --arg w "$w" '.error | contains($w)'
  done
}

@test "no NBD server at the socket: 503 naming the socket, every route" {
  sock=$STACK_DIR/nobody.sock
  transfer_json gone --arg s "$sock" '{socket: $s, export: "disk"}'
  transfer_json gone-uri --arg u "nbd+unix:///disk?socket=$sock" '{url: $u}'
  # A stale socket file: the server died, the file stayed.
  python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$STACK_DIR/stale.sock"
  transfer_json stale --arg s "$STACK_DIR/stale.sock" '{socket: $s}'
  before=$(workers_now)
  for id in gone gone-uri stale; do
    case $id in stale) s=$STACK_DIR/stale.sock ;; *) s=$sock ;; esac
    for req in "-X OPTIONS" "" "-I" "-H Range:bytes=0-99"; do
      # shellcheck disable=SC2086
      http $req "$BASE_URL/images/$id"
      expect_status 503 "$id $req"
      [ "$req" = -I ] && continue
      expect_error 503 "$id $req"
      expect_error_mentions "$s"
    done
    head -c 4096 /dev/zero > "$BATS_TEST_TMPDIR/page"
    http -T "$BATS_TEST_TMPDIR/page" "$BASE_URL/images/$id"
    expect_error 503 "$id PUT"
    expect_error_mentions "$s"
    for sub in extents checksum; do
      http "$BASE_URL/images/$id/$sub"
      expect_error 503 "$id $sub"
      expect_error_mentions "$s"
    done
  done
  expect_eq "$(workers_now)" "$before" "worker pids"
}

@test "no NBD server at a TCP port: 503 naming host and port" {
  port=$(_stack_pick_port)
  transfer_json tcp --arg u "nbd://127.0.0.1:$port/disk" '{url: $u}'
  http "$BASE_URL/images/tcp"
  expect_error 503
  expect_error_mentions "127.0.0.1:$port"
}

@test "the server starts later: 503 first, then 200 without touching the transfer" {
  image_random "$BATS_TEST_TMPDIR/img" "$MiB"
  transfer_json later --arg s "$STACK_DIR/later.sock" '{socket: $s}'
  http "$BASE_URL/images/later"
  expect_error 503
  nbd_qemu later -f raw "$BATS_TEST_TMPDIR/img"
  http "$BASE_URL/images/later"
  expect_status 200
  expect_body_is "$BATS_TEST_TMPDIR/img"
}

@test "qemu-nbd killed mid-download: the download fails, the worker survives, the next request succeeds" {
  I=$BATS_TEST_TMPDIR
  size=$((256 * MiB))
  image_random "$I/big" "$size"
  nbd_qemu dl -f raw "$I/big"
  transfer_json dl --arg s "$(nbd_sock dl)" '{socket: $s}'
  before=$(workers_now)

  curl -sS --limit-rate 4M --max-time 60 -o "$I/got" \
    -w '%{http_code} %{size_download}\n' "$BASE_URL/images/dl" \
    >"$I/curl.out" 2>"$I/curl.err" 3>&- &
  cpid=$!
  CURL_PIDS=$cpid
  # Wait until the download is under way, then crash the server.
  for _ in $(seq 1 100); do
    [ "$(stat -c %s "$I/got" 2>/dev/null || echo 0)" -gt "$MiB" ] && break
    sleep 0.1
  done
  [ "$(stat -c %s "$I/got")" -gt "$MiB" ] || fail "the download did not start"
  nbd_kill9 dl
  rc=0
  wait "$cpid" || rc=$?
  CURL_PIDS=
  read -r code got < "$I/curl.out"
  echo "# curl rc=$rc code=$code bytes=$got: $(cat "$I/curl.err")" >&2
  expect_eq "$code" 200 "status line (sent before the crash)"
  # Never a complete 200: curl reports the cut, and the body is short.
  [ "$rc" -ne 0 ] || fail "curl succeeded: the cut download looked complete"
  [ "$got" -lt "$size" ] || fail "all $size bytes arrived"
  # What did arrive is the image's beginning.
  cmp -n "$got" "$I/got" "$I/big" || fail "the partial body is not the image's prefix"

  # The worker survived: the same pids serve.
  expect_eq "$(workers_now)" "$before" "worker pids after the crash"
  http "$BASE_URL/images/dl"
  expect_error 503 "while the server is down"

  nbd_qemu dl -f raw "$I/big"
  http -H "Range: bytes=$((100 * MiB))-$((104 * MiB - 1))" "$BASE_URL/images/dl"
  expect_status 206
  extract "$I/big" $((100 * MiB)) $((4 * MiB)) > "$I/want"
  expect_body_is "$I/want"
  curl -sS -o "$I/all" "$BASE_URL/images/dl"
  cmp "$I/all" "$I/big"
  expect_eq "$(workers_now)" "$before" "worker pids at the end"
}

@test "qemu-nbd killed mid-upload: the upload is not a 200, the worker survives" {
  I=$BATS_TEST_TMPDIR
  size=$((128 * MiB))
  image_random "$I/src" "$size"
  image_sparse "$I/dst" "$size"
  nbd_qemu ul -f raw "$I/dst"
  transfer_json ul --arg s "$(nbd_sock ul)" '{socket: $s}'
  before=$(workers_now)

  curl -sS --limit-rate 4M --max-time 60 -T "$I/src" -o "$I/body" \
    -w '%{http_code} %{size_upload}\n' "$BASE_URL/images/ul" \
    >"$I/curl.out" 2>"$I/curl.err" 3>&- &
  cpid=$!
  CURL_PIDS=$cpid
  sleep 2
  nbd_kill9 ul
  rc=0
  wait "$cpid" || rc=$?
  CURL_PIDS=
  read -r code sent < "$I/curl.out"
  echo "# curl rc=$rc code=$code sent=$sent: $(cat "$I/curl.err") $(cat "$I/body" 2>/dev/null)" >&2
  [ "$code" != 200 ] || fail "the upload answered 200"
  case $code in
    000|5??) ;;
    *) fail "unexpected status $code" ;;
  esac
  expect_eq "$(workers_now)" "$before" "worker pids after the crash"

  nbd_qemu ul -f raw "$I/dst"
  http -T "$I/src" "$BASE_URL/images/ul"
  expect_status 200
  expect_json --argjson n "$size" '. == {"ok": true, "bytes_written": $n, "flushed": true}'
  nbd_read_back "$(nbd_uri ul)" "$I/back"
  cmp "$I/back" "$I/src"
}

@test "EIO on read (nbdkit --filter=error): 500 naming the operation and offset" {
  nbd_kit eio --filter=error memory 64M error-pread=EIO error-pread-rate=1
  transfer_json eio --arg s "$(nbd_sock eio)" '{socket: $s}'
  before=$(workers_now)
  # The first read fails: nothing was sent yet, so a real answer is
  # possible (curl's exit status would only say the body was cut).
  http "$BASE_URL/images/eio" || :
  expect_error 500 "full GET"
  expect_error_mentions read "offset 0"
  http -H "Range: bytes=5242880-6291455" "$BASE_URL/images/eio" || :
  expect_error 500 "ranged GET"
  expect_error_mentions read "offset 5242880"
  # Metadata still works: the export is there, only its reads fail.
  http -X OPTIONS "$BASE_URL/images/eio"
  expect_status 200
  expect_eq "$(workers_now)" "$before" "worker pids"
}

@test "EIO on write: 500 naming the operation and offset, not 200" {
  nbd_kit weio --filter=error memory 64M error-pwrite=EIO error-pwrite-rate=1
  transfer_json weio --arg s "$(nbd_sock weio)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/p" "$MiB"
  http -T "$BATS_TEST_TMPDIR/p" -H "Content-Range: bytes 2097152-3145727/*" \
    "$BASE_URL/images/weio"
  expect_error 500
  expect_error_mentions write "offset 2097152"
  http -X PATCH -H "Content-Type: application/octet-stream" \
    -H "Range: bytes=4194304-5242879" --data-binary "@$BATS_TEST_TMPDIR/p" \
    "$BASE_URL/images/weio"
  expect_error 500
  expect_error_mentions write "offset 4194304"
}

@test "EIO in the middle of an upload: the 500 names where it failed, not the start" {
  # Errors start once the trigger file exists: after the first chunks.
  trigger=$BATS_TEST_TMPDIR/fail-now
  nbd_kit meio --filter=error memory 64M error-pwrite=EIO error-pwrite-rate=1 \
    error-file="$trigger"
  transfer_json meio --arg s "$(nbd_sock meio)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/p" 40M
  ( sleep 2; touch "$trigger" ) &
  local toucher=$!
  http --limit-rate 8M -T "$BATS_TEST_TMPDIR/p" "$BASE_URL/images/meio" || :
  wait "$toucher"
  expect_error 500
  expect_error_mentions write
  # Chunks are 4 MiB: the failed one starts at a non-zero multiple of it.
  expect_json '.error | test("offset [1-9][0-9]*") and
                 ((capture("offset (?<o>[0-9]+)").o | tonumber) % 4194304 == 0)'
  expect_json '.error | contains("offset 0:") | not'
}

@test "ENOSPC: 507 from --filter=error error-pwrite=ENOSPC and from nbdkit full" {
  nbd_kit nospc --filter=error memory 64M error-pwrite=ENOSPC error-pwrite-rate=1
  nbd_kit full full 64M
  transfer_json nospc --arg s "$(nbd_sock nospc)" '{socket: $s}'
  transfer_json full --arg s "$(nbd_sock full)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/p" "$MiB"
  for id in nospc full; do
    http -T "$BATS_TEST_TMPDIR/p" "$BASE_URL/images/$id"
    expect_error 507 "$id PUT"
    expect_error_mentions write
    http -T "$BATS_TEST_TMPDIR/p" -H "Content-Range: bytes 3145728-4194303/*" \
      "$BASE_URL/images/$id?flush=n"
    expect_error 507 "$id ranged PUT"
    expect_error_mentions "offset 3145728"
  done
  http -X PATCH -H "Content-Type: application/json" \
    --data '{"op": "zero", "size": 1048576}' "$BASE_URL/images/full"
  expect_error 507 "full PATCH zero"
}

@test "a stopped NBD server (SIGSTOP): 503 after backend_timeout, workers free again" {
  I=$BATS_TEST_TMPDIR
  image_random "$I/img" $((64 * MiB))
  nbd_qemu stop -f raw "$I/img"
  transfer_json stop --arg s "$(nbd_sock stop)" '{socket: $s}'
  pid=$(cat "$STACK_DIR/stop.nbdpid")

  # Stopped before the request: the handshake gets no answer.
  kill -STOP "$pid"
  SECONDS=0
  http --max-time 30 "$BASE_URL/images/stop" || :
  expect_error 503 "GET from a stopped server"
  expect_json '.error | contains("did not answer in 3 s")'
  (( SECONDS < 10 )) || fail "the 503 took $SECONDS s"

  # Stopped in the middle of a download: the download fails.
  kill -CONT "$pid"
  curl -sS --limit-rate 4M --max-time 60 -o "$I/got" "$BASE_URL/images/stop" \
    2>/dev/null 3>&- &
  cpid=$!
  CURL_PIDS=$cpid
  sleep 1
  kill -STOP "$pid"
  rc=0
  wait "$cpid" || rc=$?
  CURL_PIDS=
  [ "$rc" -ne 0 ] || fail "the download completed from a stopped server"

  # No worker is left waiting on it once backend_timeout has passed.
  for _ in $(seq 1 50); do
    admin_http /api/v1/metrics/inflight
    jq -e '[.requests[] | select(.transfer_id == "stop")] | length == 0' \
      "$STACK_DIR/body" >/dev/null && break
    sleep 0.2
  done
  expect_json '[.requests[] | select(.transfer_id == "stop")] | length == 0'
  kill -CONT "$pid"
  http -H "Range: bytes=0-9" "$BASE_URL/images/stop"
  expect_status 206
}

@test "a slow server (--filter=delay) still completes byte-exact" {
  nbd_kit slow --filter=delay memory 8M rdelay=300ms wdelay=300ms
  transfer_json slow --arg s "$(nbd_sock slow)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/img" $((8 * MiB))
  http --max-time 60 -T "$BATS_TEST_TMPDIR/img" "$BASE_URL/images/slow"
  expect_status 200
  http --max-time 60 "$BASE_URL/images/slow"
  expect_status 200
  expect_body_is "$BATS_TEST_TMPDIR/img"
  nbd_read_back "$(nbd_uri slow)" "$BATS_TEST_TMPDIR/back"
  cmp "$BATS_TEST_TMPDIR/back" "$BATS_TEST_TMPDIR/img"
}

# parallel_writers ID URI: 8 PUTs at once on distinct 8 MiB ranges of a
# 64 MiB export; the export ends up exactly the assembled image.
parallel_writers () {
  local id=$1 uri=$2 i pids=() rc=0
  I=$BATS_TEST_TMPDIR
  image_random "$I/want" $((64 * MiB))
  for i in 0 1 2 3 4 5 6 7; do
    extract "$I/want" $((i * 8 * MiB)) $((8 * MiB)) > "$I/part$i"
  done
  for i in 0 1 2 3 4 5 6 7; do
    curl -sS --max-time 120 -T "$I/part$i" -o "$I/out$i" -w '%{http_code}' \
      -H "Content-Range: bytes $((i * 8 * MiB))-$(((i + 1) * 8 * MiB - 1))/*" \
      "$BASE_URL/images/$id" > "$I/code$i" 3>&- &
    pids+=($!)
  done
  for i in 0 1 2 3 4 5 6 7; do
    wait "${pids[$i]}" || rc=$?
    expect_eq "$(cat "$I/code$i")" 200 "writer $i status"
    jq -e --argjson n $((8 * MiB)) '.ok == true and .bytes_written == $n' "$I/out$i" \
      >/dev/null || fail "writer $i: $(cat "$I/out$i")"
  done
  [ "$rc" = 0 ] || fail "a curl failed ($rc)"
  nbd_read_back "$uri" "$I/back"
  cmp "$I/back" "$I/want"
  http "$BASE_URL/images/$id"
  expect_status 200
  expect_body_is "$I/want"
}

@test "8 parallel writers on distinct ranges through qemu-nbd --shared=8" {
  image_sparse "$BATS_TEST_TMPDIR/disk" 64M
  nbd_qemu par --shared=8 -f raw "$BATS_TEST_TMPDIR/disk"
  transfer_json par --arg s "$(nbd_sock par)" '{socket: $s}'
  parallel_writers par "$(nbd_uri par)"
}

@test "8 parallel writers on distinct ranges through nbdkit memory" {
  nbd_kit parm memory 64M
  transfer_json parm --arg s "$(nbd_sock parm)" '{socket: $s}'
  parallel_writers parm "$(nbd_uri parm)"
}
