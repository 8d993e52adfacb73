# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# imagexferctl for the suites that drive it (`load ctl-helpers` after
# `load helpers`): CTL, the built program; ctl ARGS..., it run with the
# test stack's configuration (stack_start sets STACK_DIR).

CTL=${top_builddir}/src/ctl/imagexferctl

ctl () { "$CTL" --config "$STACK_DIR/imagexfer.conf" "$@"; }

# The stack both imagexferctl suites run on: two workers, small chunks
# (so a 16 MiB transfer takes many of them), a 1 MiB and a 16 MiB image.
ctl_stack_start () {
  stack_start --workers 2 --conf-extra "chunk_size = 64K"
  image_random "$IMAGES/a.img" 1M
  image_random "$IMAGES/big.img" 16M
}
