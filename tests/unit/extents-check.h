/* SPDX-License-Identifier: Apache-2.0 */
/* Comparing an extent list with the one a test wants, for the unit tests
 * of extents.c and of both backends.  On a difference both lists are
 * printed as TAP diagnostics, side by side.
 */
#ifndef IMAGEXFER_TEST_EXTENTS_CHECK_H
#define IMAGEXFER_TEST_EXTENTS_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "extents.h"

static inline bool
extents_equal (const struct extent_list *got, const struct extent *want,
               size_t n, const char *what)
{
  bool same = got->count == n;
  size_t i;

  for (i = 0; same && i < n; i++)
    same = got->items[i].start == want[i].start
      && got->items[i].length == want[i].length
      && got->items[i].flags == want[i].flags;
  if (same)
    return true;
  printf ("# %s: got %zu extents, want %zu\n", what, got->count, n);
  for (i = 0; i < got->count || i < n; i++)
    printf ("#   got %12" PRIu64 " +%12" PRIu64 " %u | want %12" PRIu64
            " +%12" PRIu64 " %u\n",
            i < got->count ? got->items[i].start : 0,
            i < got->count ? got->items[i].length : 0,
            i < got->count ? got->items[i].flags : 0,
            i < n ? want[i].start : 0,
            i < n ? want[i].length : 0,
            i < n ? want[i].flags : 0);
  return false;
}

#endif
