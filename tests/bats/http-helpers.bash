# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154 # status_code and body come from http
# A gateway in front of a host, for the http backend's suites: two test
# stacks (helpers.bash), the "host" serving file and NBD transfers and
# the "gateway" serving http transfers that point at them.
#
#   gateway_start [host stack_start args...] [-- gateway stack_start args...]
#     host:    HOST_URL HOST_DIR HOST_SPOOL HOST_IMAGES (HOST_HTTPS_URL)
#     gateway: the current stack (BASE_URL, SPOOL, ...)
#   gateway_stop
#   gateway_setup        a test's setup: the gateway's variables, T
#   on_host CMD...       run CMD with the host's stack variables
#   host_file ID SIZE    a random image and file transfer ID on the host
#                        (pristine copy $BATS_TEST_TMPDIR/ID.orig)
#   gw_transfer ID URL [JSON object merged in]

gateway_start ()
{
  local host_args=() gw_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do host_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  gw_args=("$@")
  stack_start "${host_args[@]}" || return 1
  stack_save host
  HOST_URL=$BASE_URL HOST_DIR=$STACK_DIR HOST_SPOOL=$SPOOL
  HOST_IMAGES=$IMAGES HOST_HTTPS_URL=${HTTPS_URL:-}
  HOST_PORT=$STACK_PORT
  export HOST_URL HOST_DIR HOST_SPOOL HOST_IMAGES HOST_HTTPS_URL HOST_PORT
  HTTPS_URL="" HTTPS_PORT=""
  if ! stack_start "${gw_args[@]}"; then
    stack_use host
    stack_stop
    return 1
  fi
  stack_save gateway
}

# NBD servers (nbd-helpers.bash) of either side live in the gateway's
# directory: started from the test's shell, stopped here.
gateway_stop ()
{
  stack_use gateway
  if declare -F nbd_stop_all >/dev/null; then
    nbd_stop_all
  fi
  stack_stop
  stack_use host
  stack_stop
  stack_use gateway
}

# The start of every test: skip without jq (setup_file then started
# nothing), the gateway's variables, T for the test's files.
gateway_setup ()
{
  command -v jq >/dev/null || skip "jq not installed"
  [ -n "${HOST_URL:-}" ] || fail "the stacks did not start"
  stack_use gateway
  T=$BATS_TEST_TMPDIR
}

on_host ()
{
  (stack_use host && "$@")
}

host_file ()
{
  image_random "$HOST_IMAGES/$1.raw" "$2"
  cp "$HOST_IMAGES/$1.raw" "$BATS_TEST_TMPDIR/$1.orig"
  on_host transfer_put "$1" "{\"path\": \"$HOST_IMAGES/$1.raw\"}"
}

gw_transfer ()
{
  transfer_put "$1" "$(jq -nc --arg u "$2" --argjson x "${3:-{\}}" '{url: $u} + $x')"
}
