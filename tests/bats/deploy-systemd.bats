#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The systemd side as built: the units pass systemd-analyze verify and
# rate at most 2.5 in its security review, the sysusers.d and tmpfiles.d
# files make the user and directories in an empty root, and the daemon
# says READY=1 (Type=notify) only when a request already gets answered.

bats_require_minimum_version 1.5.0

load helpers
load expect

UNITS=(imagexfer.service imagexfer-cloudstack.service)

need_systemd_tools () {
  command -v systemd-analyze >/dev/null \
    || skip "systemd-analyze not installed (package systemd)"
}

setup () {
  TMP=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/systemd.XXXXXX")
}
teardown () { rm -rf "$TMP"; }

# The built units with the binaries' directory pointing at the build
# tree (verify checks that ExecStart exists), in $TMP/units.
units_for_this_build () {
  local bindir unit
  bindir=$(build_make_var bindir)
  mkdir -p "$TMP/bin" "$TMP/units"
  ln -s "$top_builddir/fcgi/imagexfer-fcgi" "$TMP/bin/imagexfer-fcgi"
  ln -s "$top_builddir/src/ctl/imagexferctl" "$TMP/bin/imagexferctl"
  for unit in "${UNITS[@]}"; do
    grep -q "^ExecStart=$bindir/" "$top_builddir/deploy/systemd/$unit" \
      || fail "$unit: ExecStart does not name $bindir"
    sed "s|^ExecStart=$bindir/|ExecStart=$TMP/bin/|" \
      "$top_builddir/deploy/systemd/$unit" > "$TMP/units/$unit"
  done
}

@test "units: systemd-analyze verify finds nothing (man pages not checked)" {
  need_systemd_tools
  units_for_this_build
  for unit in "${UNITS[@]}"; do
    run systemd-analyze verify --man=no "$TMP/units/$unit"
    [ "$status" -eq 0 ] && [ -z "$output" ] \
      || fail "$unit: verify said (exit $status): $output"
  done
  # Control: verify does fail a unit whose program is missing.
  sed "s|^ExecStart=$TMP/bin/imagexfer-fcgi|ExecStart=$TMP/bin/no-such|" \
    "$TMP/units/imagexfer.service" > "$TMP/units/broken.service"
  run systemd-analyze verify --man=no "$TMP/units/broken.service"
  [ "$status" -ne 0 ] || fail "verify passed a unit with no program"
}

@test "units: systemd-analyze security rates each at most 2.5" {
  need_systemd_tools
  systemd-analyze security --help | grep -q -- '--offline' \
    || skip "systemd-analyze security has no --offline (systemd < 252)"
  units_for_this_build
  for unit in "${UNITS[@]}"; do
    run systemd-analyze security --offline=yes "$TMP/units/$unit"
    score=$(printf '%s\n' "$output" |
      sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")
    [ -n "$score" ] || fail "$unit: no score in: $output"
    echo "$unit: $score"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' \
      || fail "$unit: exposure $score > 2.5"
  done
  grep -q '^Type=notify$' "$TMP/units/imagexfer.service"
  grep -q '^Restart=on-failure$' "$TMP/units/imagexfer.service"
  ! grep -q 'SupplementaryGroups=.*disk' "$TMP/units/imagexfer.service" \
    || fail "the unit opens every disk"
}

@test "sysusers.d then tmpfiles.d: the user and directories in an empty root" {
  command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null \
    || skip "systemd-sysusers/systemd-tmpfiles not installed (package systemd)"
  root=$TMP/root
  mkdir -p "$root/etc"
  tmpfiles=$top_builddir/deploy/tmpfiles.d/imagexfer.conf
  run -0 systemd-sysusers --root="$root" "$top_builddir/deploy/sysusers.d/imagexfer.conf"
  uid=$(awk -F: '$1 == "imagexfer" { print $3 }' "$root/etc/passwd")
  gid=$(awk -F: '$1 == "imagexfer" { print $3 }' "$root/etc/group")
  [ -n "$uid" ] && [ -n "$gid" ] || fail "no imagexfer user/group: $(cat "$root/etc/passwd")"
  run -0 systemd-tmpfiles --root="$root" --create "$tmpfiles"
  runstatedir=$(build_make_var runstatedir)
  localstatedir=$(build_make_var localstatedir)
  for d in "$runstatedir/imagexfer:751" "$localstatedir/lib/imagexfer:750" \
           "$localstatedir/lib/imagexfer/spool:770" \
           "$localstatedir/log/imagexfer:750"; do
    expect_eq "$(stat -c '%a %u %g' "$root${d%:*}")" "${d##*:} $uid $gid" "${d%:*}"
  done
  admin_gid=$(awk -F: '$1 == "imagexfer-admin" { print $3 }' "$root/etc/group")
  [ -n "$admin_gid" ] || fail "no imagexfer-admin group: $(cat "$root/etc/group")"
  expect_eq "$(stat -c '%a %u %g' "$root$runstatedir/imagexfer-admin")" \
    "2750 0 $admin_gid" "$runstatedir/imagexfer-admin"
  # The daemon's defaults are these very directories.
  run -0 "$top_builddir/fcgi/imagexfer-fcgi" --help
  grep -q "^#spool_dir = $localstatedir/lib/imagexfer/spool$" "$top_builddir/etc/imagexfer.conf"
  grep -q "^#state_dir = $runstatedir/imagexfer$" "$top_builddir/etc/imagexfer.conf"
}

@test "Type=notify: READY=1 when a request is answered; RELOADING, STOPPING" {
  command -v python3 >/dev/null || skip "python3 not installed"
  mkdir -p "$TMP/spool" "$TMP/state"
  printf '%s\n' "spool_dir = $TMP/spool" "state_dir = $TMP/state" \
    "workers = 2" > "$TMP/imagexfer.conf"
  run -0 --separate-stderr timeout 60 python3 "$top_srcdir/tests/bats/notify-probe.py" \
    "$TMP/fcgi.sock" "$top_builddir/fcgi/imagexfer-fcgi" \
    --config "$TMP/imagexfer.conf" --listen "$TMP/fcgi.sock"
  expected="notify READY=1
request Status: 200 OK
notify RELOADING=1
notify READY=1
notify STOPPING=1
exit 0"
  got=$(printf '%s\n' "${lines[@]}" | grep -E '^(notify|request|missing|exit)')
  expect_eq "$got" "$expected" "notifications"
}

@test "Type=notify: a bad NOTIFY_SOCKET is a warning, not a failure" {
  mkdir -p "$TMP/spool" "$TMP/state"
  printf '%s\n' "spool_dir = $TMP/spool" "state_dir = $TMP/state" \
    "workers = 1" > "$TMP/imagexfer.conf"
  NOTIFY_SOCKET=$TMP/nobody-listens "$top_builddir/fcgi/imagexfer-fcgi" \
    --config "$TMP/imagexfer.conf" --listen "$TMP/fcgi.sock" \
    </dev/null 2>"$TMP/log" &
  pid=$!
  for _ in $(seq 100); do
    grep -q "cannot tell systemd READY=1" "$TMP/log" && break
    sleep 0.1
  done
  kill -0 "$pid" || fail "the daemon exited: $(cat "$TMP/log")"
  kill -TERM "$pid"
  wait "$pid" || fail "exit status $?"
  grep -q "warning: supervisor: cannot tell systemd READY=1: NOTIFY_SOCKET $TMP/nobody-listens: " "$TMP/log" \
    || fail "no warning: $(cat "$TMP/log")"
}
