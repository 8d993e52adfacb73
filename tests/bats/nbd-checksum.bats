#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# GET /images/<id>/checksum and /checksum/algorithms (API.md section 2)
# on NBD exports (raw and qcow2 through qemu-nbd, nbdkit memory) and on
# file transfers, against the same block hash computed with coreutils:
#   split -b BLOCK --filter='b2sum -l 256 | cut -c1-64 | xxd -r -p' IMAGE \
#     | b2sum -l 256

bats_require_minimum_version 1.5.0

load helpers
load expect
load nbd-helpers

MiB=1048576
RAW_SIZE=5244416        # 5 MiB + 1536: not a multiple of any block size
QCOW_SIZE=9441280       # 9 MiB + 4096, sparse
SPARSE_SIZE=67108864    # 64 MiB, two small data areas

setup_file () {
  for t in qemu-nbd qemu-img qemu-io nbdkit nbdcopy b2sum sha256sum xxd split jq setpriv; do
    command -v "$t" >/dev/null || return 0   # each test skips, naming it
  done
  stack_start --workers 2
  I=$IMAGES
  image_random "$I/raw.img" "$RAW_SIZE"
  nbd_qemu raw -f raw -x disk "$I/raw.img"

  qemu-img create -q -f qcow2 "$I/q.qcow2" "$QCOW_SIZE"
  qemu-io -f qcow2 -c 'write -P 0x5a 0 64k' -c 'write -P 0x33 3M 1500k' \
    -c 'write -z 6M 1M' -c "write -P 0x77 $((QCOW_SIZE - 4096)) 4096" \
    "$I/q.qcow2" >/dev/null
  qemu-img convert -f qcow2 -O raw "$I/q.qcow2" "$I/q.ref"
  nbd_qemu qcow -f qcow2 -A -x disk "$I/q.qcow2"

  image_sparse "$I/sparse.img" "$SPARSE_SIZE"
  image_random "$I/piece" 300000
  write_at "$I/sparse.img" 4194304 "$I/piece"
  write_at "$I/sparse.img" 50000000 "$I/piece"
  nbd_qemu sparse -f raw "$I/sparse.img"

  # nbdkit memory: the same bytes as sparse.img, written through NBD.
  nbd_kit mem memory "$SPARSE_SIZE"
  nbdcopy "$I/sparse.img" "$(nbd_uri mem)"

  image_random "$I/file.img" 3145851    # 3 MiB + 123
  image_sparse "$I/fsparse.img" 20M
  write_at "$I/fsparse.img" 9000000 "$I/piece"

  transfer_json raw --arg u "$(nbd_uri raw disk)" '{url: $u}'
  transfer_json raw-cs --arg s "$(nbd_sock raw)" '{socket: $s, export: "disk"}'
  transfer_json qcow --arg u "$(nbd_uri qcow disk)" '{url: $u}'
  transfer_json sparse --arg u "nbd:unix:$(nbd_sock sparse)" '{url: $u}'
  transfer_json mem --arg s "$(nbd_sock mem)" '{socket: $s}'
  transfer_json clip --arg u "$(nbd_uri raw disk)" '{url: $u, size: 1234567}'
  transfer_json file --arg p "$I/file.img" '{path: $p}'
  transfer_json fsparse --arg p "$I/fsparse.img" '{path: $p, ops: ["read"]}'
  head -c 1234567 "$I/raw.img" > "$I/clip.ref"
}

teardown_file () {
  nbd_stop_all
  stack_stop
}

setup () {
  nbd_require qemu-nbd qemu-img qemu-io nbdkit nbdcopy b2sum sha256sum xxd split jq setpriv
  [ -n "${BASE_URL:-}" ] || fail "the stack did not start"
}

# ref_checksum FILE ALGORITHM BLOCK_SIZE: the block hash with coreutils.
ref_checksum () {
  local sum
  case $2 in
    blake2b) sum="b2sum -l 256" ;;
    sha256) sum="sha256sum" ;;
  esac
  split -b "$3" --filter="$sum | cut -c1-64 | xxd -r -p" "$1" | $sum | cut -c1-64
}

# expect_checksum ID FILE ALGORITHM BLOCK_SIZE [QUERY]
expect_checksum () {
  local want
  http "$BASE_URL/images/$1/checksum${5-?algorithm=$3&block_size=$4}"
  expect_status 200 "$1 $3 $4"
  expect_header Content-Type application/json
  expect_length
  want=$(ref_checksum "$2" "$3" "$4")
  [ ${#want} = 64 ] || fail "reference checksum failed: '$want'"
  expect_json --arg a "$3" --argjson b "$4" --arg c "$want" \
    '. == {"algorithm": $a, "block_size": $b, "checksum": $c}'
}

@test "the reference itself: a known vector (3 MiB of zeroes, 1 MiB blocks)" {
  head -c $((3 * MiB)) /dev/zero > "$BATS_TEST_TMPDIR/z"
  # b2sum -l 256 of 1 MiB of zeroes, three times, hashed again.
  one=$(head -c "$MiB" /dev/zero | b2sum -l 256 | cut -c1-64)
  want=$(printf '%s%s%s' "$one" "$one" "$one" | xxd -r -p | b2sum -l 256 | cut -c1-64)
  expect_eq "$(ref_checksum "$BATS_TEST_TMPDIR/z" blake2b "$MiB")" "$want" "reference"
}

@test "defaults: no query is blake2b with 4 MiB blocks" {
  expect_checksum raw "$IMAGES/raw.img" blake2b 4194304 ""
  expect_checksum file "$IMAGES/file.img" blake2b 4194304 ""
}

@test "raw export (qemu-nbd -f raw), size not a multiple of the block size" {
  for alg in blake2b sha256; do
    for bs in 4194304 1048576 12582912; do
      expect_checksum raw "$IMAGES/raw.img" "$alg" "$bs"
      expect_checksum raw-cs "$IMAGES/raw.img" "$alg" "$bs"
    done
  done
}

@test "qcow2 export (qemu-nbd -f qcow2), sparse with zero clusters" {
  for alg in blake2b sha256; do
    for bs in 4194304 1048576 16777216; do
      expect_checksum qcow "$IMAGES/q.ref" "$alg" "$bs"
    done
  done
}

@test "sparse raw export and nbdkit memory: zero extents hash like read zeroes" {
  for id in sparse mem; do
    for alg in blake2b sha256; do
      for bs in 4194304 1052672; do
        expect_checksum "$id" "$IMAGES/sparse.img" "$alg" "$bs"
      done
    done
  done
}

@test "a transfer clipped by its size hashes only its bytes" {
  expect_checksum clip "$IMAGES/clip.ref" blake2b 1048576
  expect_checksum clip "$IMAGES/clip.ref" sha256 4194304
}

@test "file transfers: odd size and sparse" {
  for alg in blake2b sha256; do
    for bs in 4194304 1048576; do
      expect_checksum file "$IMAGES/file.img" "$alg" "$bs"
      expect_checksum fsparse "$IMAGES/fsparse.img" "$alg" "$bs"
    done
  done
}

@test "the checksum changes with the data: after a PUT through the stack" {
  transfer_json mem2 --arg s "$(nbd_sock mem)" '{socket: $s}'
  image_random "$BATS_TEST_TMPDIR/p" 4096
  cp "$IMAGES/sparse.img" "$BATS_TEST_TMPDIR/want"
  write_at "$BATS_TEST_TMPDIR/want" 20000768 "$BATS_TEST_TMPDIR/p"
  http -T "$BATS_TEST_TMPDIR/p" -H "Content-Range: bytes 20000768-20004863/*" \
    "$BASE_URL/images/mem2"
  expect_status 200
  expect_checksum mem2 "$BATS_TEST_TMPDIR/want" blake2b 4194304
  # Put the memory export back as the other tests expect it.
  head -c 4096 /dev/zero > "$BATS_TEST_TMPDIR/z"
  http -T "$BATS_TEST_TMPDIR/z" -H "Content-Range: bytes 20000768-20004863/*" \
    "$BASE_URL/images/mem2"
  expect_status 200
  expect_checksum mem2 "$IMAGES/sparse.img" blake2b 4194304
}

@test "checksum/algorithms lists blake2b and sha256" {
  for id in raw qcow file; do
    http "$BASE_URL/images/$id/checksum/algorithms"
    expect_status 200 "$id"
    expect_header Content-Type application/json
    expect_length
    expect_json '.algorithms | sort == ["blake2b", "sha256"]'
  done
}

@test "bad algorithm or block_size: 400 with a JSON error" {
  for q in algorithm=md5 algorithm=BLAKE2B algorithm= algorithm=sha1 \
           block_size=0 block_size=4096 block_size=1044480 block_size=1048577 \
           block_size=1050000 block_size=16781312 block_size=33554432 \
           block_size=-1048576 block_size=abc block_size=1e6 "block_size=1048576x" \
           block_size=99999999999999999999999 "algorithm=sha256&block_size=2048"; do
    for id in raw file; do
      http "$BASE_URL/images/$id/checksum?$q"
      expect_error 400 "$id ?$q"
    done
  done
}
