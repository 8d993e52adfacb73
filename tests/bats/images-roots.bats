#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# image_roots: file images must resolve, links and ".." included, inside
# the configured directories, or the transfer is invalid (404, with the
# reason in its status); the management API may write file transfers only
# inside them, and none at all when they are not configured.

bats_require_minimum_version 1.5.0

load helpers
load expect

setup_file () {
  # max_readers: four GETs at once on one transfer reach the image
  # check, rather than the per-transfer cap's 503.
  stack_start --workers 2 --conf-extra "image_roots = @IMAGES@" \
    --conf-extra "max_readers = 4"
  mkdir -p "$STACK_DIR/outside"
  image_random "$STACK_DIR/outside/secret.raw" 4096
}

teardown_file () {
  stack_stop
}

setup () {
  T=$BATS_TEST_TMPDIR
}

# The transfer is invalid, and its status says it is outside image_roots.
expect_outside () {
  http "$BASE_URL/images/$1"
  expect_error 404
  admin_http "/api/v2/transfers/$1"
  expect_status 200
  expect_json '.state == "invalid" and (.reason | test("outside image_roots"))'
}

@test "roots: an image inside is served" {
  new_image in 8192
  http "$BASE_URL/images/in"
  expect_status 200
  expect_body_is "$T/in.orig"
}

@test "roots: a path outside, a link out of the roots, and .. are refused" {
  file_transfer out "$STACK_DIR/outside/secret.raw"
  expect_outside out
  ln -sf "$STACK_DIR/outside/secret.raw" "$IMAGES/link.raw"
  file_transfer link "$IMAGES/link.raw"
  expect_outside link
  file_transfer dots "$IMAGES/../outside/secret.raw"
  expect_outside dots
  file_transfer etc /etc/passwd
  expect_outside etc
}

@test "roots: a link that stays inside is fine" {
  new_image target 4096
  ln -sf "$IMAGES/target.raw" "$IMAGES/alias.raw"
  file_transfer alias "$IMAGES/alias.raw"
  http "$BASE_URL/images/alias"
  expect_status 200
  expect_body_is "$T/target.orig"
}

@test "roots: /api writes file transfers inside, refuses them outside" {
  image_random "$IMAGES/api-in.raw" 4096
  api_put () {
    admin_http "/api/v2/transfers/$1" -X PUT \
      --data-binary "$(jq -nc --arg p "$2" '{path: $p}')"
  }
  api_put api-in "$IMAGES/api-in.raw"
  expect_status 201
  api_put api-out "$STACK_DIR/outside/secret.raw"
  expect_status 400
  expect_json '.code == "BAD_REQUEST" and (.message | test("outside image_roots"))'
  [ ! -e "$SPOOL/api-out.json" ] || fail "the refused descriptor was written"
}

# Issue 9 finding 3: a FIFO as the image hung a worker forever, and four
# GETs took a four-worker server down.  Now every kind of file that is
# not an image is refused at once, so more such requests than workers
# leave the server serving.
@test "roots: a FIFO, a directory, a character device, a link to a FIFO: refused at once, workers stay free" {
  mkfifo "$IMAGES/fifo"
  mkdir -p "$IMAGES/dir"
  ln -sf "$IMAGES/fifo" "$IMAGES/fifolink"
  local kinds="fifo dir fifolink" k i
  if mknod "$IMAGES/chardev" c 1 3 2>/dev/null; then
    kinds="$kinds chardev"
  else
    echo "# not root: no character device inside the roots (mknod)" >&3
  fi
  for k in $kinds; do
    file_transfer "$k" "$IMAGES/$k"
    # Four at once on a two-worker server, each answered within 5 s.
    for i in 1 2 3 4; do
      curl -s -o "$T/$k.$i" -w '%{http_code}' --max-time 5 \
        "$BASE_URL/images/$k" > "$T/$k.$i.code" &
    done
    wait
    for i in 1 2 3 4; do
      expect_eq "$(cat "$T/$k.$i.code")" 500 "GET of a $k (request $i)"
      jq -e --arg k "$k" '.error == "cannot open the image of transfer \($k) (see the server log)"' \
        "$T/$k.$i" > /dev/null || fail "$k: $(cat "$T/$k.$i")"
    done
  done
  grep -q "GET fifo: open failed: .*not a regular file or a block device" "$FCGI_LOG" \
    || fail "the log does not say why"
  # The operator sees each as an invalid transfer, with the reason.
  declare -A what=([fifo]="a FIFO" [dir]="a directory" [fifolink]="a FIFO"
                   [chardev]="a character device")
  for k in $kinds; do
    api "v2/transfers/$k"
    expect_status 200
    expect_json --arg r "path: \"$IMAGES/$k\" is ${what[$k]}, not a regular file or a block device" \
      '.state == "invalid" and .reason == $r'
  done
  api v2/transfers
  expect_json '[.. | objects | select(.state? == "invalid")] | length >= 3'
  new_image after 4096
  http --max-time 5 "$BASE_URL/images/after"
  expect_status 200
  expect_body_is "$T/after.orig"
}
