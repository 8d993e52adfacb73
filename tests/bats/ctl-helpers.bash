# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# imagexferctl for the suites that drive it (`load ctl-helpers` after
# `load helpers`): CTL, the built program; ctl ARGS..., it run with the
# test stack's configuration (stack_start sets STACK_DIR).

CTL=${top_builddir}/src/ctl/imagexferctl

ctl () { "$CTL" --config "$STACK_DIR/imagexfer.conf" "$@"; }
