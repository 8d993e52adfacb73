#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# sendfile = yes: file downloads handed to lighttpd with X-Sendfile2, and
# the bound on what a cancelled transfer can still send: ranges over
# sendfile_max are streamed by the worker, which stops them.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  stack_start --workers 2 --conf-extra "sendfile = yes" \
    --conf-extra "sendfile_max = 1M"
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

# The bytes the worker itself sent for the last request of ID: 0 when
# the web server sent the file (the access line's out=).
worker_sent () {
  grep -E " info: GET $1 range=" "$FCGI_LOG" | tail -n 1 \
    | sed -n 's/.* out=\([0-9]*\) .*/\1/p'
}

@test "sendfile: a range up to sendfile_max is sent by the web server, byte-exact" {
  new_image sf 3145733
  ranged_get sf "$T/sf.orig" 1000 1049575
  expect_eq "$(worker_sent sf)" 0 "bytes the worker sent"
  ranged_get sf "$T/sf.orig" 3145000 3145732
  expect_eq "$(worker_sent sf)" 0 "bytes the worker sent"
}

@test "sendfile: a larger range, or the whole image, is streamed by the worker" {
  new_image big 3145733 '{"filename": "big.raw"}'
  ranged_get big "$T/big.orig" 0 1048576
  expect_eq "$(worker_sent big)" 1048577 "bytes the worker sent"
  http "$BASE_URL/images/big"
  expect_status 200
  expect_header Content-Length 3145733
  expect_disposition big.raw
  expect_body_is "$T/big.orig"
  expect_eq "$(worker_sent big)" 3145733 "bytes the worker sent"
}

@test "sendfile: deleting the descriptor stops a download larger than sendfile_max" {
  expect_download_cancelled long
}
