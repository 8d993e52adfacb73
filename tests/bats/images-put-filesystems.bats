#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Uploads to files on real file systems: ext4 (loop-mounted), tmpfs,
# ramfs and the file system of the test images, and to a loop block
# device with 4096-byte sectors.  Whatever the offsets
# and lengths, and wherever a write crosses a chunk boundary, the bytes
# land exactly and nothing around them changes; a client that vanishes
# mid-body leaves only its complete chunks; a full disk answers 507 with
# the reason and changes nothing beyond the chunk that failed.  A large
# upload goes around the page cache (direct_writes, the default), or
# through it with direct_writes = no (a second stack).
#
# Mounting needs root, mkfs.ext4 and a loop device: without them the
# tests that need a mount skip, saying why.

bats_require_minimum_version 1.5.0

load helpers
load expect

CHUNK=$((2 * 1048576))

setup_file ()
{
  stack_start --workers 2 --conf-extra "chunk_size = 2M" \
    --conf-extra "direct_writes = no"
  stack_save buffered
  stack_start --workers 2 --conf-extra "chunk_size = 2M"
  stack_save main
}

teardown_file ()
{
  stack_use buffered
  stack_stop
  stack_use main
  stack_stop
}

setup ()
{
  T=$BATS_TEST_TMPDIR
  MOUNTED=""
  LOOP_DEVICE=""
  stack_use main
}

teardown ()
{
  if [ -n "$MOUNTED" ]; then
    umount "$MOUNTED" || umount -l "$MOUNTED"
  fi
  if [ -n "$LOOP_DEVICE" ]; then
    # The worker keeps the device open for the transfer's next request:
    # cancelled, it lets go within a second; detached meanwhile, the
    # device goes once it does.
    transfer_rm blk
    losetup --detach "$LOOP_DEVICE"
  fi
}

# mount_fs KIND [SIZE]: a fresh file system (ext4 on a loop device,
# tmpfs or ramfs) at $T/mnt, unmounted in teardown; sets DIR to it.
mount_fs ()
{
  local kind=$1 size=${2:-64M}
  [ "$(id -u)" = 0 ] || skip "mounting a $kind file system needs root"
  mkdir -p "$T/mnt"
  case $kind in
    ext4)
      command -v mkfs.ext4 >/dev/null \
        || skip "mkfs.ext4 is not installed (Debian: e2fsprogs)"
      truncate -s "$size" "$T/fs.img"
      mkfs.ext4 -q -F "$T/fs.img"
      mount -o loop "$T/fs.img" "$T/mnt" \
        || skip "cannot loop-mount an ext4 image here"
      ;;
    tmpfs|ramfs)
      mount -t "$kind" -o "size=$size" "$kind" "$T/mnt" \
        || skip "cannot mount $kind here"
      ;;
  esac
  MOUNTED=$T/mnt
  DIR=$T/mnt
}

# image_at DIR ID SIZE: a random image DIR/ID.raw, its transfer, and the
# pristine copy $T/ID.orig.
image_at ()
{
  image_random "$1/$2.raw" "$3"
  cp "$1/$2.raw" "$T/$2.orig"
  file_transfer "$2" "$1/$2.raw"
}

# put_range ID FIRST LENGTH: PUT LENGTH random bytes at FIRST and apply
# the same to $T/ID.expected.
put_range ()
{
  image_random "$T/piece" "$3"
  http -T "$T/piece" -H "Content-Range: bytes $2-$(($2 + $3 - 1))/*" \
    "$BASE_URL/images/$1"
  expect_written "$3"
  write_at "$T/$1.expected" "$2" "$T/piece"
}

# round_trips DIR: writes at aligned and odd offsets and lengths, within
# one chunk and across chunk boundaries, byte-exact on disk and back
# through GET.
round_trips ()
{
  local size=$((9 * 1048576 + 4099))
  image_at "$1" rt "$size"
  cp "$T/rt.orig" "$T/rt.expected"
  put_range rt 0 $((4 * 1048576))           # two whole aligned chunks
  put_range rt 4095 $((5 * 1048576 + 7))    # odd start and end, 3 chunks
  put_range rt $((CHUNK - 1)) 2             # one byte each side of a boundary
  put_range rt 512 $((1048576 + 512))       # sector aligned, not page aligned
  put_range rt $((6 * 1048576 + 1)) $((3 * 1048576 + 4098))  # up to the end
  put_range rt 8192 4096                    # one page
  same_file "$1/rt.raw" "$T/rt.expected"
  http "$BASE_URL/images/rt"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/rt.expected"

  # A whole-image PUT, of a size that is not a multiple of anything.
  image_random "$T/whole" "$size"
  http -T "$T/whole" "$BASE_URL/images/rt"
  expect_written "$size"
  same_file "$1/rt.raw" "$T/whole"
}

@test "ext4: odd offsets and lengths across chunk boundaries are byte-exact" {
  mount_fs ext4
  round_trips "$DIR"
}

@test "tmpfs: odd offsets and lengths across chunk boundaries are byte-exact" {
  mount_fs tmpfs
  round_trips "$DIR"
}

@test "ramfs: odd offsets and lengths across chunk boundaries are byte-exact" {
  mount_fs ramfs
  round_trips "$DIR"
}

@test "the file system of the test images: byte-exact round trips" {
  round_trips "$IMAGES"
}

@test "a client gone mid-body: its complete chunks written, nothing else changed" {
  local size=$((8 * 1048576)) sent=$((5 * 1048576 + 12345)) n i first
  mount_fs ext4
  image_at "$DIR" gone "$size"
  image_random "$T/src" "$size"
  python3 "$top_srcdir/tests/bats/send-in-pieces.py" "$STACK_PORT" \
    /images/gone "$T/src" --vanish-after "$sent"
  for ((n = 0; n < 100; n++)); do
    grep -q "client went away after [0-9]* of $size bytes" "$FCGI_LOG" && break
    sleep 0.1
  done
  grep -q "client went away after [0-9]* of $size bytes" "$FCGI_LOG" \
    || fail "no 'client went away' in the log"
  # Chunk by chunk: the new bytes up to some whole chunk no further than
  # what was sent, the old ones after it; never a chunk of both.
  first=""
  for ((i = 0; i < size / CHUNK; i++)); do
    extract "$DIR/gone.raw" $((i * CHUNK)) "$CHUNK" > "$T/got"
    if extract "$T/src" $((i * CHUNK)) "$CHUNK" | cmp -s - "$T/got"; then
      [ -z "$first" ] || fail "chunk $i is new after old chunk $first"
      (( (i + 1) * CHUNK <= sent )) || fail "chunk $i was written, not all sent"
    elif extract "$T/gone.orig" $((i * CHUNK)) "$CHUNK" | cmp -s - "$T/got"; then
      first=${first:-$i}
    else
      fail "chunk $i is neither the old nor the new bytes"
    fi
  done
}

@test "a full disk: 507 with the reason, nothing changed beyond the failed chunk" {
  local size=$((24 * 1048576)) status failed
  mount_fs ext4 16M
  truncate -s "$size" "$DIR/full.raw"
  file_transfer full "$DIR/full.raw"
  image_random "$T/src" "$size"
  http -T "$T/src" "$BASE_URL/images/full"
  expect_status 507
  expect_json '.error | test("^write at offset [0-9]+ failed: No space left on device$")'
  failed=$(jq -r '.error | capture("offset (?<o>[0-9]+)").o' "$STACK_DIR/body")
  (( failed % CHUNK == 0 && failed < size )) || fail "failed at $failed"
  # Before the failed chunk: the new bytes; after it: the hole as it was.
  extract "$DIR/full.raw" 0 "$failed" | cmp - <(extract "$T/src" 0 "$failed") \
    || fail "the chunks before offset $failed are not the new bytes"
  extract "$DIR/full.raw" $((failed + CHUNK)) $((size - failed - CHUNK)) \
    | cmp - <(head -c $((size - failed - CHUNK)) /dev/zero) \
    || fail "bytes after the failed chunk changed"
  # The transfer still answers, with the bytes it has.
  http "$BASE_URL/images/full"
  expect_status 200
  same_file "$STACK_DIR/body" "$DIR/full.raw"
}

# direct_fd_open PATH: some worker holds PATH open with O_DIRECT: the fd
# of its direct writes, kept with the backend after the request.
direct_fd_open ()
{
  local pid fd flags o_direct
  o_direct=$(python3 -c 'import os; print(os.O_DIRECT)')
  for pid in $(fcgi_worker_pids); do
    for fd in /proc/"$pid"/fd/*; do
      [ "$(readlink "$fd")" = "$1" ] || continue
      flags=$(awk '/^flags:/ { print $2 }' "/proc/$pid/fdinfo/${fd##*/}")
      (( 8#$flags & o_direct )) && return 0
    done
  done
  return 1
}

# cached_bytes FILE: how much of FILE is in the page cache.
cached_bytes ()
{
  fincore --bytes --noheadings --output RES "$1" | tr -d " "
}

# upload_cached DIR ID SIZE: a whole-image PUT of SIZE random bytes (in
# $T/src) to a transfer on DIR/ID.raw whose pages were dropped from the
# page cache first; sets CACHED to the bytes of it cached after the PUT.
upload_cached ()
{
  image_at "$1" "$2" "$3"
  dd if=/dev/null of="$1/$2.raw" oflag=nocache conv=notrunc,fdatasync \
    count=0 status=none
  expect_eq "$(cached_bytes "$1/$2.raw")" 0 "cached before the upload"
  image_random "$T/src" "$3"
  http -T "$T/src" "$BASE_URL/images/$2"
  expect_written "$3"
  # Before anything reads the file back.
  CACHED=$(cached_bytes "$1/$2.raw")
  same_file "$1/$2.raw" "$T/src"
}

@test "ext4: a large upload goes around the page cache; with direct_writes = no through it" {
  # 2 MiB chunks: the last is 1 MiB and 4097 bytes.
  local size=$((9 * 1048576 + 4097))
  command -v fincore >/dev/null || skip "fincore is not installed (Debian: util-linux)"
  mount_fs ext4
  upload_cached "$DIR" direct "$size"
  # Only the last byte, after the last whole page, went through the page
  # cache: its page at most.  (The kernel may have dropped even that.)
  (( CACHED <= $(getconf PAGESIZE) )) \
    || fail "$CACHED bytes cached after a direct upload"
  stack_use buffered
  upload_cached "$DIR" buffered "$size"
  # All of it, unless the kernel dropped some pages since.
  (( CACHED >= size / 2 )) \
    || fail "only $CACHED bytes of $size cached after a buffered upload"
}

@test "a block device with 4096-byte sectors: written directly, byte-exact" {
  local size=$((9 * 1048576))
  [ "$(id -u)" = 0 ] || skip "attaching a loop device needs root"
  command -v losetup >/dev/null || skip "losetup is not installed (Debian: mount)"
  image_random "$T/disk.img" "$size"
  cp "$T/disk.img" "$T/blk.expected"
  LOOP_DEVICE=$(losetup --find --show --sector-size 4096 "$T/disk.img") \
    || skip "cannot attach a loop device here"
  file_transfer blk "$LOOP_DEVICE"
  put_range blk 0 $((4 * 1048576))            # two whole aligned chunks
  # (fincore sees no page cache of a block device: the fd tells instead.)
  direct_fd_open "$LOOP_DEVICE" \
    || fail "no worker holds $LOOP_DEVICE open with O_DIRECT"
  put_range blk 4095 $((3 * 1048576 + 7))     # odd start and end
  put_range blk 512 $((1048576 + 512))        # sector aligned (512), not 4096
  put_range blk $((5 * 1048576)) $((4 * 1048576))  # up to the end
  same_file "$LOOP_DEVICE" "$T/blk.expected"
  http "$BASE_URL/images/blk"
  expect_status 200
  same_file "$STACK_DIR/body" "$T/blk.expected"
}
