#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# lighttpd as deploy/lighttpd/imagexfer.conf sets it up for streamed
# downloads (server.stream-response-body = 2, 64 KiB chunk buffers): a
# slow client holds lighttpd to a bounded buffer, so a cancel stops the
# download within a chunk and lighttpd's memory and temporary files stay
# flat however large the image.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  # 1 MiB chunks: the worker looks at the descriptor every MiB.
  stack_start --workers 2 --conf-extra "chunk_size = 1M"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
  CURL_PID=""
}

teardown () {
  [ -z "$CURL_PID" ] || kill "$CURL_PID" 2>/dev/null || true
}

# Bytes of the temporary files lighttpd holds open right now.
lighttpd_tempfile_bytes () {
  local fd target total=0
  for fd in /proc/"$LIGHTTPD_PID"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case $target in
      *lighttpd-upload-*) total=$((total + $(stat -L -c %s "$fd" 2>/dev/null || echo 0))) ;;
    esac
  done
  echo "$total"
}

lighttpd_rss_kib () {
  awk '/^VmRSS:/ { print $2 }' "/proc/$LIGHTTPD_PID/status"
}

@test "lighttpd: a cancelled download stops within seconds, with no image buffered in lighttpd" {
  local out=$T/slow.download at_cancel t0 end rc=0
  image_sparse "$IMAGES/slow.raw" 256M
  file_transfer slow "$IMAGES/slow.raw"
  curl -sS --limit-rate 2M --max-time 60 -o "$out" "$BASE_URL/images/slow" \
    2> "$T/curl.err" &
  CURL_PID=$!
  sleep 2
  at_cancel=$(stat -c %s "$out")
  transfer_rm slow
  t0=$SECONDS
  wait "$CURL_PID" || rc=$?
  CURL_PID=""
  end=$(stat -c %s "$out")
  echo "# $((end - at_cancel)) bytes in $((SECONDS - t0)) s after the cancel" >&3
  (( rc != 0 )) || fail "curl succeeded"
  (( rc != 28 )) || fail "lighttpd kept sending until curl gave up"
  # In flight at the cancel, and still delivered after it: the chunk
  # the worker was sending (1 MiB), lighttpd's 64 KiB queue, the unix
  # socket's buffer, and loopback TCP's, which the kernel grows as it
  # likes up to tcp_wmem and tcp_rmem's maximum (4.9-10.6 MiB were seen
  # on a loaded machine with the 4 MiB and 32 MiB maximums).  A lighttpd
  # reading ahead of the client (stream-response-body = 0 or 1) has the
  # whole image, 256 MiB, and sends it all.  The client reads the rest
  # at its 2 MiB/s.
  local in_flight
  in_flight=$((1048576 + 65536 + $(cat /proc/sys/net/core/wmem_default)
               + $(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem)
               + $(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_rmem)))
  (( end - at_cancel <= in_flight )) \
    || fail "$((end - at_cancel)) bytes arrived after the cancel (at most $in_flight in flight)"
  (( SECONDS - t0 <= in_flight / 2097152 + 5 )) \
    || fail "the cancel took $((SECONDS - t0)) s"
}

@test "lighttpd: memory and temporary files stay flat during a slow download" {
  local rss0 rss max_rss=0 tmp max_tmp=0 i
  image_sparse "$IMAGES/flat.raw" 1G
  file_transfer flat "$IMAGES/flat.raw"
  rss0=$(lighttpd_rss_kib)
  curl -sS --limit-rate 8M --max-time 60 -o /dev/null "$BASE_URL/images/flat" \
    2> "$T/curl.err" &
  CURL_PID=$!
  for i in $(seq 1 20); do
    sleep 0.2
    rss=$(lighttpd_rss_kib)
    tmp=$(lighttpd_tempfile_bytes)
    (( rss > max_rss )) && max_rss=$rss
    (( tmp > max_tmp )) && max_tmp=$tmp
  done
  kill -0 "$CURL_PID" || fail "the download ended early: $(cat "$T/curl.err")"
  kill "$CURL_PID"
  wait "$CURL_PID" || true
  CURL_PID=""
  # 4 s at 8 MiB/s of a 1 GiB image: lighttpd reading ahead of the client
  # would hold tens of MiB by now.
  (( max_rss - rss0 <= 4096 )) \
    || fail "lighttpd's resident memory grew by $((max_rss - rss0)) KiB"
  (( max_tmp <= 1048576 )) \
    || fail "lighttpd held $max_tmp bytes in temporary files"
}
