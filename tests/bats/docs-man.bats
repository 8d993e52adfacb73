#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The man pages build without a warning, and the documentation keeps up
# with the code where that is cheap to check: config keys, descriptor
# fields, imagexferctl commands and options, imagexfer-fcgi options and
# the routes.  The lists come from the code itself (its tables, its
# --help), never from a test-only path.

bats_require_minimum_version 1.5.0

load expect

DOCS=$top_srcdir/docs
PODS=(imagexfer-fcgi.8 imagexferctl.8 imagexfer.conf.5 imagexfer-transfer.5)
CTL=$top_builddir/src/ctl/imagexferctl
FCGI=$top_builddir/fcgi/imagexfer-fcgi

# The names a POD page documents as "=item B<NAME>" (each name of an item
# such as "=item B<inactivity_timeout>, B<idle_timeout_seconds>").
pod_items ()
{
  sed -n 's/^=item //p' "$1" | grep -oE 'B<[A-Za-z0-9_-]+>' \
    | sed 's/^B<//; s/>$//' | sort -u
}

# Lines of $1 missing from $2 (both sorted), one per line.
missing_from ()
{
  comm -23 <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

expect_same_names ()
{
  local code=$1 docs=$2 what=$3 gone extra
  gone=$(missing_from "$code" "$docs")
  extra=$(missing_from "$docs" "$code")
  [ -z "$gone" ] || fail "$what in the code but not documented:" $gone
  [ -z "$extra" ] || fail "$what documented but not in the code:" $extra
}

# expect_page_items NAMES AT-LEAST PAGE WHAT: the items of PAGE are
# exactly NAMES, found in the code (at least AT-LEAST of them, so that a
# table moved elsewhere is not an empty list that agrees with nothing).
expect_page_items ()
{
  local code=$1 at_least=$2 page=$3 what=$4
  [ "$(wc -l <<<"$code")" -ge "$at_least" ] \
    || fail "$what not found in the code: $code"
  expect_same_names "$code" "$(pod_items "$DOCS/$page.pod")" "$what"
}

@test "podchecker finds nothing to fix in any man page" {
  [ -n "${PODCHECKER:-}" ] && [ "$PODCHECKER" != no ] \
    || skip "podchecker not found by configure (Debian: perl)"
  local page
  for page in "${PODS[@]}"; do
    run -0 "$PODCHECKER" -warnings -warnings "$DOCS/$page.pod"
    [[ $output == *"pod syntax OK."* ]] || fail "$page: $output"
    ! grep -qE 'WARNING|ERROR' <<<"$output" || fail "$page: $output"
  done
}

@test "every man page is built and renders without a warning" {
  [ -n "${POD2MAN:-}" ] && [ "$POD2MAN" != no ] \
    || skip "pod2man not found by configure: man pages are not built (Debian: perl)"
  command -v groff >/dev/null || skip "groff is not installed"
  local page
  for page in "${PODS[@]}"; do
    [ -s "$top_builddir/docs/$page" ] || fail "docs/$page was not built"
    grep -q '^\.TH "\?'"${page%.*}"'"\? "\?'"${page##*.}" \
      "$top_builddir/docs/$page" || fail "docs/$page: no .TH line for it"
    ! grep -nE 'SYSCONFDIR|DATADIR|DOCDIR' "$top_builddir/docs/$page" \
      || fail "docs/$page: a path placeholder was not replaced"
    # Every warning but "can't break line": long installed paths.
    run -0 --separate-stderr groff -man -Tutf8 -ww -Wbreak -z "$top_builddir/docs/$page"
    [ -z "$stderr" ] || fail "docs/$page: $stderr"
  done
}

# The keys the parser accepts: set_key's comparisons in config.c.
config_keys ()
{
  grep -oE 'strcmp \(key, "[a-z_]+"\)' "$top_srcdir/src/config/config.c" \
    | sed 's/.*"\(.*\)".*/\1/' | sort -u
}

@test "imagexfer.conf(5) lists every key the parser accepts, and no other" {
  expect_page_items "$(config_keys)" 10 imagexfer.conf.5 "config keys"
}

@test "the shipped imagexfer.conf shows every key" {
  local code shipped
  code=$(config_keys)
  shipped=$(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$top_builddir/etc/imagexfer.conf" \
    | sort -u)
  expect_same_names "$code" "$shipped" "config keys (etc/imagexfer.conf)"
}

# Every descriptor field: the common table, the fields that choose the
# backend, and each backend's own table (names and aliases).
descriptor_fields ()
{
  {
    sed -n 's/^ *{ "\([a-z_]*\)", \("\([a-z_]*\)"\|NULL\),.*/\1 \3/p' \
      "$top_srcdir/src/transfer/transfer-fields.c" \
      "$top_srcdir"/src/backend/backend-*-descriptor.c
    grep -oE '\.name = "[a-z_]+"' "$top_srcdir/src/transfer/transfer.c" \
      | sed 's/.*"\(.*\)"/\1/'
  } | tr ' ' '\n' | sed '/^$/d' | sort -u
}

@test "imagexfer-transfer(5) lists every descriptor field, and no other" {
  expect_page_items "$(descriptor_fields)" 15 imagexfer-transfer.5 \
    "descriptor fields"
}

@test "docs/transfers.md names every descriptor field" {
  local field gone=()
  for field in $(descriptor_fields); do
    grep -q "\`$field\`" "$DOCS/transfers.md" || gone+=("$field")
  done
  [ ${#gone[@]} -eq 0 ] || fail "not in docs/transfers.md: ${gone[*]}"
}

@test "docs/configuration.md names every config key" {
  local key gone=()
  for key in $(pod_items "$DOCS/imagexfer.conf.5.pod"); do
    grep -q "\`$key\`" "$DOCS/configuration.md" || gone+=("$key")
  done
  [ ${#gone[@]} -eq 0 ] || fail "not in docs/configuration.md: ${gone[*]}"
}

@test "imagexferctl(8) documents every command and every option" {
  [ -x "$CTL" ] || fail "$CTL is not built"
  local code docs command option gone=()
  run -0 "$CTL" --help
  code=$(sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' <<<"$output" | sort -u)
  [ "$(wc -l <<<"$code")" -ge 6 ] || fail "commands not found: $output"
  docs=$(sed -n 's/^=head2 B<imagexferctl> \([a-z-]*\).*/\1/p' \
    "$DOCS/imagexferctl.8.pod" | sort -u)
  expect_same_names "$code" "$docs" "imagexferctl commands"
  for command in "" $code; do
    [ "$command" != help ] || continue
    if [ -n "$command" ]; then run -0 "$CTL" help "$command"
    else run -0 "$CTL" --help; fi
    for option in $(grep -oE -- '--[a-z][a-z-]*' <<<"$output" | sort -u); do
      grep -qF "B<$option>" "$DOCS/imagexferctl.8.pod" \
        || gone+=("${command:-global} $option")
    done
  done
  [ ${#gone[@]} -eq 0 ] || fail "options not in imagexferctl(8): ${gone[*]}"
}

@test "imagexfer-fcgi(8) documents every option of --help" {
  [ -x "$FCGI" ] || fail "$FCGI is not built"
  local option gone=()
  run -0 "$FCGI" --help
  for option in $(grep -oE -- '--[a-z][a-z-]*' <<<"$output" | sort -u); do
    grep -qF "=item B<$option>" "$DOCS/imagexfer-fcgi.8.pod" || gone+=("$option")
  done
  [ ${#gone[@]} -eq 0 ] || fail "options not in imagexfer-fcgi(8): ${gone[*]}"
}

@test "docs/api.md has a section for every route of both route tables" {
  local rows sub method path allow gone=()
  # fcgi/images/images-routes.c: { "SUB", "METHOD", ...
  rows=$(sed -n 's/^ *{ "\([a-z/]*\)", "\([A-Z]*\)",.*/\1|\2/p' \
    "$top_srcdir/fcgi/images/images-routes.c")
  [ "$(wc -l <<<"$rows")" -ge 9 ] || fail "/images route table not found: $rows"
  while IFS='|' read -r sub method; do
    grep -qF "### $method /images/<id>${sub:+/$sub}" "$DOCS/api.md" \
      || gone+=("$method /images/<id>${sub:+/$sub}")
  done <<<"$rows"
  # fcgi/api/api.c: { .path = "PATH", [.prefix = true,] .allow = "M, M",
  rows=$(sed -n 's/.*\.path = "\([^"]*\)".*\.allow = "\([^"]*\)".*/\1|\2/p' \
    "$top_srcdir/fcgi/api/api.c")
  [ "$(wc -l <<<"$rows")" -ge 7 ] || fail "/api route table not found: $rows"
  while IFS='|' read -r path allow; do
    [[ $path == */ ]] && path="$path<id>"
    for method in ${allow//,/ }; do
      grep -qF "### $method $path" "$DOCS/api.md" || gone+=("$method $path")
    done
  done <<<"$rows"
  [ ${#gone[@]} -eq 0 ] || fail "routes without a section in docs/api.md: ${gone[*]}"
}

@test "docs/control-planes.md has a section for every method of /tickets/<id>" {
  local allow method gone=()
  # fcgi/tickets/tickets.c: the Allow of a ticket, the longest one.
  allow=$(sed -n 's/.*method_not_allowed (req, "\([A-Z, ]*\)");.*/\1/p' \
    "$top_srcdir/fcgi/tickets/tickets.c" \
    | awk '{ print length, $0 }' | sort -n | tail -1 | cut -d' ' -f2-)
  [ "$(wc -w <<<"$allow")" -ge 4 ] || fail "the methods of /tickets not found: $allow"
  for method in ${allow//,/ }; do
    grep -qF "### $method /tickets/<id>" "$DOCS/control-planes.md" \
      || gone+=("$method")
  done
  [ ${#gone[@]} -eq 0 ] || fail "not in docs/control-planes.md: ${gone[*]}"
}

@test "docs/api.md explains every status and every /api error code the server sends" {
  local rows status code gone=()
  # fcgi/http-status.c: case NNN: return "Reason";
  rows=$(sed -n 's/^ *case \([0-9][0-9][0-9]\): return ".*/\1/p' \
    "$top_srcdir/fcgi/http-status.c")
  [ "$(wc -l <<<"$rows")" -ge 12 ] || fail "status table not found: $rows"
  for status in $rows; do
    grep -qE "(^\| |[ (])$status( |,|\)|$)" "$DOCS/api.md" || gone+=("$status")
  done
  # fcgi/api/api-response.c: code = "SYMBOL";
  rows=$(sed -n 's/^ *code = "\([A-Z_]*\)";/\1/p' "$top_srcdir/fcgi/api/api-response.c")
  [ "$(wc -l <<<"$rows")" -ge 4 ] || fail "error codes not found: $rows"
  for code in $rows; do
    grep -qF "\`$code\`" "$DOCS/api.md" || gone+=("$code")
  done
  [ ${#gone[@]} -eq 0 ] || fail "not in docs/api.md: ${gone[*]}"
}

@test "docs/control-planes.md lists every answer of CloudStack's control socket" {
  local rows message gone=()
  # The literal start of each message: error_answer ("...%s...") and
  # cloudstack_error ("...").
  rows=$(grep -hoE '(error_answer|cloudstack_error) \("[^"%]+' \
           "$top_srcdir"/src/ctl/cloudstack-control.c \
           "$top_srcdir"/src/ctl/serve-cloudstack.c \
         | sed 's/^[a-z_]* ("//; s/\\$//' | sort -u)
  [ "$(wc -l <<<"$rows")" -ge 10 ] || fail "control messages not found: $rows"
  while IFS= read -r message; do
    grep -qF "\`$message" "$DOCS/control-planes.md" || gone+=("'$message'")
  done <<<"$rows"
  [ ${#gone[@]} -eq 0 ] || fail "not in docs/control-planes.md: ${gone[*]}"
}

@test "the README refers to nothing outside the tree" {
  ! grep -nE 'API\.md|\.\./shared|DESIGN\.md' "$top_srcdir/README.md" \
    || fail "README.md names a file users never get"
}
