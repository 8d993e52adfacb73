#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A download through the gateway that the client stops early: the
# gateway stops pulling from the remote in the middle of the chunk it was
# reading (pipeline_abandon, backend_set_abandoned, the http backend's
# progress callback), instead of reading the chunk to its end for nobody.
# shellcheck disable=SC2154 # status_code and body come from http

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load http-helpers

MiB=1048576
# The gateway reads the remote in chunks of 8 MiB, the host its NBD
# export in chunks of 64 KiB: the host's bytes_read then tells within
# 64 KiB how much the gateway asked for and took.
GATEWAY_CHUNK=$((8 * MiB))

setup_file () {
  command -v jq >/dev/null || return 0
  gateway_start --conf-extra "chunk_size = 64K" -- \
    --conf-extra "chunk_size = 8M"
}

teardown_file () {
  gateway_stop
}

setup () {
  gateway_setup
}

@test "a client that stops reading: the gateway stops pulling from the remote in mid-chunk" {
  nbd_require nbdkit
  local statuses
  image_random "$T/slow.orig" $((32 * MiB))
  # 30 ms per 64 KiB read: the host serves about 2 MiB/s, so a chunk of
  # the gateway takes about 4 s.  The client stops as soon as the first
  # chunk reaches it, while the gateway reads the second.  The abandon
  # reaches the host within a few hundred ms (0.2-0.5 MiB of the second
  # chunk were served, also at a load of 6), far less than the 4 s the
  # rest of the chunk takes.  Read to its end, the second chunk makes
  # bytes_read exactly 16 MiB and the host's request a success.
  nbd_kit slowfile --filter=delay file "$T/slow.orig" rdelay=30ms
  on_host transfer_put slow "{\"socket\": \"$(nbd_sock slowfile)\"}"
  gw_transfer g-slow "$HOST_URL/images/slow"

  curl -sS "$BASE_URL/images/g-slow" 2>"$T/curl.err" \
    | head -c "$MiB" > "$T/first"
  statuses=("${PIPESTATUS[@]}")
  # curl fails writing to the closed pipe (23), head succeeds.
  [ "${statuses[*]}" = "23 0" ] ||
    fail "curl and head: ${statuses[*]} $(cat "$T/curl.err")"
  cmp "$T/first" <(head -c "$MiB" "$T/slow.orig")

  # Nothing more in flight at the host, then what it served: the first
  # chunk and part of the second, whose request the gateway cut (the
  # host's one error).
  on_host wait_api v2/transfers/slow '.connections == 0' 300
  on_host api v2/transfers/slow
  on_host expect_json --argjson chunk "$GATEWAY_CHUNK" \
    '.bytes_read >= $chunk and .bytes_read < 2 * $chunk
     and .errors == 1'
}
