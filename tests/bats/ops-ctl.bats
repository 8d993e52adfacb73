#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# imagexferctl: every command, against the spool and shared state of a
# running stack (and without the web server for what needs none).

bats_require_minimum_version 1.5.0

load helpers
load expect
load ctl-helpers

setup_file () { ctl_stack_start; }
teardown_file () { stack_stop; }

@test "help: for the tool and for each command" {
  run -0 "$CTL" --help
  [[ $output == *"Usage: imagexferctl"* ]]
  tool_help=$output
  for c in add check list show cancel watch extend serve-cloudstack; do
    [[ $tool_help == *"  $c "* ]] || fail "--help does not list $c"
    run -0 "$CTL" help "$c"
    [[ $output == "Usage: imagexferctl $c "* ]] || fail "help $c: $output"
    help_text=$output
    run -0 "$CTL" "$c" --help
    [ "$output" = "$help_text" ] || fail "$c --help differs from help $c"
  done
  run -2 "$CTL" frobnicate
  [[ $output == *"unknown command 'frobnicate'"* ]]
  run -2 "$CTL"
  run -0 "$CTL" --version
  [[ $output == "imagexferctl 0.1.0" ]]
}

@test "add: validated, atomic, refuses to overwrite without --replace" {
  run -0 ctl add c1 --path "$IMAGES/a.img" --read-only --timeout 600 \
    --filename a.img
  [ "$output" = "added c1" ]
  jq -e --arg p "$IMAGES/a.img" '.path == $p and .read_only == true
    and .timeout == 600 and .filename == "a.img"' "$SPOOL/c1.json"
  [ -z "$(find "$SPOOL" -name '.*' -type f)" ]
  run -1 ctl add c1 --path "$IMAGES/a.img"
  [[ $output == *"exists"* ]]
  run -0 ctl add c1 --path "$IMAGES/a.img" --size 4096 --replace --json
  echo "$output" | jq -e '.size == 4096 and .ops == ["read", "write"]'
  # The server serves what the tool installed.
  http -r 0-4095 "$BASE_URL/images/c1"
  [ "$status_code" = 206 ]
  cmp -n 4096 "$IMAGES/a.img" "$STACK_DIR/body"
  run -1 ctl add c2 --path relative/path.img
  [[ $output == *"c2:"* ]]
  [ ! -e "$SPOOL/c2.json" ]
  run -2 ctl add ../evil --path "$IMAGES/a.img"
  run -2 ctl add c2
  run -2 ctl add c2 --size ten --path "$IMAGES/a.img"
  run -0 ctl add c3 --socket /tmp/nbd.sock --export disk --idle-timeout 30 \
    --expires 2030-01-01T00:00:00Z
  jq -e '.socket == "/tmp/nbd.sock" and .export == "disk"
    and .inactivity_timeout == 30' "$SPOOL/c3.json"
  printf '{"url": "file://%s"}' "$IMAGES/a.img" > "$BATS_TEST_TMPDIR/d.json"
  run -0 ctl add c4 --file "$BATS_TEST_TMPDIR/d.json"
  cmp "$BATS_TEST_TMPDIR/d.json" "$SPOOL/c4.json"
  run -2 ctl add c5 --file "$BATS_TEST_TMPDIR/d.json" --size 1
}

@test "check: valid and invalid descriptors, nothing installed" {
  printf '{"path": "%s", "size": 512}' "$IMAGES/a.img" > "$BATS_TEST_TMPDIR/ok.json"
  run -0 ctl check "$BATS_TEST_TMPDIR/ok.json"
  [ "${lines[0]}" = valid ]
  [ ! -e "$SPOOL/ok.json" ]
  for bad in '{"path": "rel"}' '{"path": 1}' '{"path": "/x", "size": "10G"}' \
             '{"path": "/x"' '[]' '{"ops": ["fly"], "path": "/x"}'; do
    printf '%s' "$bad" > "$BATS_TEST_TMPDIR/bad.json"
    run -1 ctl check "$BATS_TEST_TMPDIR/bad.json"
    [[ $output == "invalid: "?* ]] || fail "no reason for $bad: $output"
  done
  run -1 ctl check /nonexistent.json
  [[ $output == "invalid: "* ]]
}

@test "list and show: the same status as the API" {
  ctl add l1 --path "$IMAGES/a.img"
  http "$BASE_URL/images/l1"
  [ "$status_code" = 200 ]
  transfer_put l2bad '{"path": 5}'
  run -0 ctl list
  [[ ${lines[0]} == "ID "*"STATE"* ]]
  line=$(printf '%s\n' "${lines[@]}" | grep '^l1 ')
  read -r id backend state _ <<<"$line"
  [ "$backend $state" = "file ready" ] || fail "$line"
  [[ $line == *"1.0 MiB"* ]] || fail "bytes read not shown: $line"
  printf '%s\n' "${lines[@]}" | grep -q '^l2bad .*invalid'
  run -0 ctl list --json
  echo "$output" | jq -e '[.[] | select(.id == "l1")][0]
    | .bytes_read == 1048576 and .state == "ready"'
  run -0 ctl show l1 --json
  cli=$(echo "$output" | jq -S 'del(.idle_time)')
  admin_http /api/v2/transfers/l1
  api=$(jq -S 'del(.idle_time)' "$STACK_DIR/body")
  [ "$cli" = "$api" ] || fail "show --json differs from the API: $cli vs $api"
  run -0 ctl show l1
  [[ $output == *"state          ready"* ]]
  [[ $output == *"bytes read     1048576"* ]]
  run -0 ctl show l2bad
  [[ $output == *"state          invalid ("* ]]
  run -1 ctl show nosuch
}

@test "cancel: removes the descriptor; shown as cancelled" {
  ctl add k1 --path "$IMAGES/a.img"
  http -r 0-0 "$BASE_URL/images/k1"
  run -0 ctl cancel k1
  [ "$output" = "cancelled k1" ]
  [ ! -e "$SPOOL/k1.json" ]
  run -1 ctl cancel k1
  [[ $output == *"no such transfer"* ]]
  run -0 ctl show k1 --json
  echo "$output" | jq -e '.state == "cancelled"'
  run -0 ctl list
  printf '%s\n' "${lines[@]}" | grep -q '^k1 .*cancelled'
  http -r 0-0 "$BASE_URL/images/k1"
  [ "$status_code" = 403 ]
}

@test "watch: progress lines while a download runs, ends on cancel" {
  ctl add w1 --path "$IMAGES/big.img"
  curl -sS --limit-rate 2M -o /dev/null "$BASE_URL/images/w1" &
  cpid=$!
  ( sleep 2.5; "$CTL" --config "$STACK_DIR/imagexfer.conf" cancel w1 ) &
  run -0 timeout 20 "$CTL" --config "$STACK_DIR/imagexfer.conf" watch w1 \
    --interval 0.5
  kill "$cpid" 2>/dev/null || :
  wait || :
  echo "$output" >&2
  [ "${#lines[@]}" -ge 3 ]
  printf '%s\n' "${lines[@]}" | grep -q '^w1: active .*read [1-9]'
  [[ ${lines[-1]} == "w1: cancelled "* ]]
  run -0 ctl watch l1 --count 2 --interval 0.1
  [ "${#lines[@]}" = 2 ]
  run -1 ctl watch never-existed --count 1
}

@test "works without the web server: spool and state only" {
  stack_stop
  run -0 ctl list
  printf '%s\n' "${lines[@]}" | grep -q '^l1 '
  run -0 ctl show l1 --json
  echo "$output" | jq -e '.bytes_read == 1048576'
  run -0 ctl add offline --path "$IMAGES/a.img"
  run -0 ctl cancel offline
}

@test "files written for the operator follow file_mode, whatever the umask" {
  # The default, 0640: the state file and a descriptor ctl add wrote.
  expect_eq "$(stat -c %a "$STATE/stats")" 640 "state file mode"
  run -0 bash -c "umask 000; $(printf '%q ' "$CTL") --config $(printf '%q' "$STACK_DIR/imagexfer.conf") add m1 --path $(printf '%q' "$IMAGES/a.img")"
  expect_eq "$(stat -c %a "$SPOOL/m1.json")" 640 "descriptor mode (umask 000)"
  # Configured: 0600.
  { cat "$STACK_DIR/imagexfer.conf"; echo "file_mode = 0600"; } > "$BATS_TEST_TMPDIR/strict.conf"
  run -0 "$CTL" --config "$BATS_TEST_TMPDIR/strict.conf" add m2 --path "$IMAGES/a.img"
  expect_eq "$(stat -c %a "$SPOOL/m2.json")" 600 "descriptor mode (file_mode 0600)"
  rm -f "$SPOOL/m1.json" "$SPOOL/m2.json"
}

@test "as root: add and extend give the descriptor to the spool's owner, whom the workers run as" {
  [ "$(id -u)" -eq 0 ] || skip "needs root (chown)"
  # A spool of its own, owned by another account as a packaged one is
  # (imagexfer); root's file of mode 0640 would be unreadable there.
  local spool=$BATS_TEST_TMPDIR/spool
  mkdir -p "$spool"
  chown nobody:nogroup "$spool"
  sed "s|^spool_dir = .*|spool_dir = $spool|" "$STACK_DIR/imagexfer.conf" \
    > "$BATS_TEST_TMPDIR/owned.conf"
  run -0 "$CTL" --config "$BATS_TEST_TMPDIR/owned.conf" add o1 --path "$IMAGES/a.img"
  expect_eq "$(stat -c %U:%G:%a "$spool/o1.json")" nobody:nogroup:640 "owner after add"
  run -0 "$CTL" --config "$BATS_TEST_TMPDIR/owned.conf" extend o1 --timeout 600
  expect_eq "$(stat -c %U:%G:%a "$spool/o1.json")" nobody:nogroup:640 "owner after extend"
}
