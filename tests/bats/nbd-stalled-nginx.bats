#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nbd-stalled.bats's tests of a client that leaves while its download
# waits on a silent NBD server, behind nginx (which closes the FastCGI
# connection when its client closes), and the guard against taking a
# slow server's silence for the client gone.

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers
load nbd-stalled-helpers

setup_file () {
  [ -x "$NGINX" ] && stalled_tools || return 0   # each test skips, naming it
  # One worker, 32 MiB chunks, backend_timeout 60 s: as nbd-stalled.bats.
  stack_start --front nginx --workers 1 --conf-extra "chunk_size = 32M"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  [ -x "$NGINX" ] || skip "nginx is not installed (Debian: nginx)"
  stalled_setup
}

teardown () {
  stalled_teardown
}

@test "nginx: a client gone while the worker waits for a stalled chunk: the worker is free within seconds" {
  check_gone_waiting_for_chunk
}

@test "nginx: a client gone while a one-chunk read stalls: the worker is free within seconds" {
  check_gone_one_chunk
}

@test "nginx: a client that stays while its NBD server is slow gets every byte" {
  check_slow_server_client_stays
}
