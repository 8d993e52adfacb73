#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The shape of the source tree that keeps it easy to change: no include
# cycles between modules, and backends known only to themselves and the
# registry.

bats_require_minimum_version 1.5.0

load expect

@test "no two modules of the product include each other's headers" {
  run -0 "$top_srcdir/tests/include-cycles" "$top_srcdir"
  [[ ${lines[-1]} == "no include cycles" ]] || fail "$output"
}

# The names of the registry's backends: each row's .name.
backend_names ()
{
  sed -n 's/^ *\.name = "\([a-z0-9_]*\)",$/\1/p' \
    "$top_srcdir"/src/backend/backend-*.c
}

@test "no product file outside the backends spells a backend's name" {
  # The registry (src/backend/backend-registry.c) lists backends by their
  # rows; their names live in their own files.  imagexferctl add's
  # option "--file" is an option, not a backend; CloudStack's control
  # protocol defaults to "nbd", a fact of that protocol, named once;
  # "http" is also the scheme of an Origin header.
  local names name f bad=()
  names=$(backend_names)
  [ "$(echo "$names" | sort | tr '\n' ' ')" = "file http nbd " ] \
    || fail "backend names found: $names"
  for name in $names; do
    run grep -rlE "\"$name\"|BACKEND_TYPE_" "$top_srcdir/src" "$top_srcdir/fcgi" \
      --include='*.[ch]'
    for f in "${lines[@]}"; do
      case ${f#"$top_srcdir"/} in
        src/backend/backend-"$name"*.c) ;;
        src/ctl/add.c)
          [ "$(grep -c "\"$name\"" "$f")" = 1 ] \
            && grep -q "{ \"file\", required_argument" "$f" \
            || bad+=("$f") ;;
        src/ctl/cloudstack-control.c)
          [ "$name" = nbd ] && [ "$(grep -c "\"$name\"" "$f")" = 1 ] \
            && grep -q "^#define CLOUDSTACK_DEFAULT_BACKEND \"nbd\"$" "$f" \
            || bad+=("$f") ;;
        src/config/config.c|fcgi/admin-access.c)
          # There "http" is the scheme of a browser's Origin header, on
          # lines that say so.
          [ "$name" = http ] && ! grep "\"http\"" "$f" | grep -qvi origin \
            || bad+=("$f") ;;
        *) bad+=("$f") ;;
      esac
    done
  done
  (( ${#bad[@]} == 0 )) || fail "backend names outside the backends: ${bad[*]}"
}

@test "every backend of the registry is one row naming a backend_type" {
  local rows
  rows=$(sed -n '/backend_types\[\] = {/,/};/p' \
           "$top_srcdir/src/backend/backend-registry.c" | grep -c '&backend_type_')
  (( rows >= 2 )) || fail "registry rows: $rows"
  local name
  for name in $(grep -o '&backend_type_[a-z0-9_]*' \
                  "$top_srcdir/src/backend/backend-registry.c" | sed 's/&//'); do
    run grep -l "^const struct backend_type $name = {" \
      "$top_srcdir"/src/backend/*.c
    (( ${#lines[@]} == 1 )) || fail "$name is defined in ${#lines[@]} files"
  done
}
