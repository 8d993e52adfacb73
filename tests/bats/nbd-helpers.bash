# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2016,SC2154 # jq programs in single quotes; status_code and body come from http
# NBD servers for the test stack: real qemu-nbd and nbdkit on unix
# sockets (or 127.0.0.1 TCP) in $STACK_DIR.  Plain bash, sourced after
# helpers.bash by the nbd-*.bats suites (`load nbd-helpers`) and by
# tests/bench/nbd.bash.
#
#   nbd_qemu NAME [qemu-nbd args...]      unix socket $STACK_DIR/NAME.sock
#   nbd_qemu_tcp NAME [qemu-nbd args...]  127.0.0.1:$NBD_PORT (sets NBD_PORT)
#   nbd_kit NAME [nbdkit args...]         unix socket $STACK_DIR/NAME.sock
#   nbd_sock NAME / nbd_pid NAME / nbd_uri NAME [EXPORT]
#   nbd_stop NAME / nbd_kill9 NAME / nbd_stop_all
#   nbd_require TOOL...                   skip (bats) naming a missing tool
#
# Every server is started with a pid file $STACK_DIR/NAME.nbdpid and
# SIGKILL as its parent-death signal (nbdkit: --exit-with-parent,
# qemu-nbd: setpriv --pdeathsig), so a server never outlives the shell
# that started it even when a teardown is skipped.  nbd_stop_all stops
# every server of the stack (call it in teardown/teardown_file).
# qemu-nbd always gets --persistent (it would exit after its first
# client) and --shared=8 unless the caller passes --shared.

# The pid of server NAME, forgotten: the caller stops it.  Fails when
# there is none.
_nbd_take_pid ()
{
  local pidfile=$STACK_DIR/$1.nbdpid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  [ -n "$pid" ] && echo "$pid"
}

# Stopping a server: SIGTERM, bounded wait, SIGKILL.
nbd_stop ()
{
  local pid
  pid=$(_nbd_take_pid "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  _stack_wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
  _stack_wait_gone "$pid" 50 || true
  wait "$pid" 2>/dev/null || true
  rm -f "$STACK_DIR/$1.sock"
}

# The server dies at once, as a crash would: no clean disconnect.
nbd_kill9 ()
{
  local pid
  pid=$(_nbd_take_pid "$1") || return 0
  kill -KILL "$pid" 2>/dev/null || true
  _stack_wait_gone "$pid" 50 || true
  wait "$pid" 2>/dev/null || true
}

nbd_stop_all ()
{
  local f name
  [ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR" ] || return 0
  for f in "$STACK_DIR"/*.nbdpid; do
    [ -e "$f" ] || continue
    name=${f##*/}
    nbd_stop "${name%.nbdpid}"
  done
  return 0
}

nbd_sock ()
{
  echo "$STACK_DIR/$1.sock"
}

nbd_pid ()
{
  cat "$STACK_DIR/$1.nbdpid" 2>/dev/null
}

# NBD URI of the export EXPORT (default: the empty name) of server NAME.
nbd_uri ()
{
  echo "nbd+unix:///${2:-}?socket=$STACK_DIR/$1.sock"
}

# nbd_require TOOL...: in a bats test, skip naming the first one missing.
nbd_require ()
{
  local t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      skip "$t is not installed"
    fi
  done
}

# Wait (at most 10 s) until server NAME (pid $2) answers at URI $3.
# Fails printing its log when it exits or does not answer.
_nbd_wait_ready ()
{
  local name=$1 pid=$2 uri=$3 n=100
  while [ $n -gt 0 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "nbd: server $name exited at start-up:" >&2
      cat "$STACK_DIR/$name.log" >&2 2>/dev/null
      rm -f "$STACK_DIR/$name.nbdpid"
      return 1
    fi
    if timeout 5 nbdinfo --list "$uri" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
    n=$((n - 1))
  done
  echo "nbd: server $name does not answer at $uri after 10 s:" >&2
  cat "$STACK_DIR/$name.log" >&2 2>/dev/null
  nbd_stop "$name"
  return 1
}

_nbd_qemu_args ()
{
  local a shared=""
  for a in "$@"; do
    case $a in
      --shared|--shared=*|-e) shared=yes ;;
    esac
  done
  if [ -n "$shared" ]; then
    echo --persistent
  else
    echo --persistent --shared=8
  fi
}

# nbd_qemu NAME [qemu-nbd args...]: the last argument is the image.
nbd_qemu ()
{
  local name=$1 sock pid
  shift
  sock=$STACK_DIR/$name.sock
  rm -f "$sock"
  # shellcheck disable=SC2046 # the option words are intended
  setpriv --pdeathsig KILL qemu-nbd $(_nbd_qemu_args "$@") --socket "$sock" \
    "$@" </dev/null >"$STACK_DIR/$name.log" 2>&1 3>&- 4>&- 5>&- &
  pid=$!
  echo "$pid" > "$STACK_DIR/$name.nbdpid"
  _nbd_wait_ready "$name" "$pid" "nbd+unix:///?socket=$sock"
}

# nbd_qemu_tcp NAME [qemu-nbd args...]: on 127.0.0.1:$NBD_PORT, a free
# port (retried when another process takes it first).
nbd_qemu_tcp ()
{
  local name=$1 pid
  shift
  for _ in 1 2 3 4 5; do
    NBD_PORT=$(_stack_pick_port) || return 1
    # shellcheck disable=SC2046 # the option words are intended
    setpriv --pdeathsig KILL qemu-nbd $(_nbd_qemu_args "$@") \
      --bind 127.0.0.1 --port "$NBD_PORT" \
      "$@" </dev/null >"$STACK_DIR/$name.log" 2>&1 3>&- 4>&- 5>&- &
    pid=$!
    echo "$pid" > "$STACK_DIR/$name.nbdpid"
    if _nbd_wait_ready "$name" "$pid" "nbd://127.0.0.1:$NBD_PORT"; then
      export NBD_PORT
      return 0
    fi
    grep -qi 'address already in use' "$STACK_DIR/$name.log" || return 1
  done
  return 1
}

# nbd_kit NAME [nbdkit args...]: plugin, its parameters, --filter=...
nbd_kit ()
{
  local name=$1 sock pid
  shift
  sock=$STACK_DIR/$name.sock
  rm -f "$sock"
  nbdkit --foreground --exit-with-parent --unix "$sock" "$@" \
    </dev/null >"$STACK_DIR/$name.log" 2>&1 3>&- 4>&- 5>&- &
  pid=$!
  echo "$pid" > "$STACK_DIR/$name.nbdpid"
  _nbd_wait_ready "$name" "$pid" "nbd+unix:///?socket=$sock"
}

# --- assertions shared by the nbd-*.bats suites -------------------------

# transfer_json ID JQ-EXPR [jq args...]: a descriptor built by jq -n.
transfer_json () {
  local id=$1
  shift
  transfer_put "$id" "$(jq -nc "$@")"
}

# nbd_read_back URI FILE: the export's bytes, through libnbd, not the stack.
nbd_read_back () {
  rm -f "$2"
  nbdcopy "$1" "$2"
}

# nbd_write_from FILE URI: put FILE into the export, not through the stack.
nbd_write_from () {
  nbdcopy "$1" "$2"
}

# nbd_expected_extents URI SIZE: the zero-context extent list the API
# must answer, computed from nbdinfo --map (base:allocation and, when the
# server offers it, qemu:allocation-depth), merged, as JSON.  hole: depth
# 0, nowhere in the exported chain (API.md).
nbd_expected_extents () {
  local uri=$1 size=$2 alloc depth
  alloc=$(nbdinfo --map --json "$uri")
  if nbdinfo --map=qemu:allocation-depth --json "$uri" >/dev/null 2>&1; then
    depth=$(nbdinfo --map=qemu:allocation-depth --json "$uri")
  else
    depth="[{\"offset\": 0, \"length\": $size, \"type\": 1}]"
  fi
  jq -nc --argjson a "$alloc" --argjson d "$depth" --argjson size "$size" '
    # Split points of both maps, cut at size; each piece takes the
    # flags of the extent of each map covering it.
    def flags($m; $off): first($m[] | select(.offset <= $off and $off < .offset + .length) | .type);
    ([$a[] | .offset, .offset + .length] + [$d[] | .offset, .offset + .length] + [0, $size]
     | map(select(. <= $size)) | unique) as $pts
    | [range(0; ($pts | length) - 1) as $i
       | {start: $pts[$i], length: ($pts[$i + 1] - $pts[$i]),
          zero: ((flags($a; $pts[$i]) / 2 | floor) % 2 == 1),
          hole: (flags($d; $pts[$i]) == 0)}]
    | reduce .[] as $e ([];
        if length > 0 and .[-1].zero == $e.zero and .[-1].hole == $e.hole
        then .[-1].length += $e.length else . + [$e] end)'
}

# commands_seen LOG: the commands nbdkit's log filter has logged so far.
commands_seen () {
  grep -c -E ' (Read|Write) id=' "$1" || true
}

# now_ms: milliseconds since the epoch.
now_ms () {
  echo $(( $(date +%s%N) / 1000000 ))
}
