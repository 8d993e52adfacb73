/* SPDX-License-Identifier: Apache-2.0 */
/* Extent lists: append/merge rules and merging two lists. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "extents.h"
#include "extents-check.h"
#include "tap.h"

#define Z EXTENT_ZERO
#define H EXTENT_HOLE
#define D EXTENT_DIRTY
#define MAX_ITEMS 8

struct append_op {
  uint64_t start, length;
  unsigned flags;
  int ret;                      /* 0, or the errno of a failure */
};

struct append_case {
  const char *name;
  size_t n_ops;
  struct append_op ops[MAX_ITEMS];
  size_t n_expect;
  struct extent expect[MAX_ITEMS];
};

static const struct append_case append_cases[] = {
  { "empty list", 0, { { 0 } }, 0, { { 0 } } },
  { "one extent", 1, { { 0, 10, 0, 0 } }, 1, { { 0, 10, 0 } } },
  { "first extent may start anywhere", 1, { { 4096, 10, Z, 0 } },
    1, { { 4096, 10, Z } } },
  { "zero-length first extent ignored", 2,
    { { 7, 0, Z, 0 }, { 0, 5, 0, 0 } }, 1, { { 0, 5, 0 } } },
  { "zero-length extent ignored wherever it starts", 3,
    { { 0, 5, 0, 0 }, { 99, 0, Z, 0 }, { 5, 5, Z, 0 } },
    2, { { 0, 5, 0 }, { 5, 5, Z } } },
  { "adjacent equal extents merge", 3,
    { { 0, 5, Z, 0 }, { 5, 5, Z, 0 }, { 10, 1, Z, 0 } },
    1, { { 0, 11, Z } } },
  { "different flags do not merge", 3,
    { { 0, 5, 0, 0 }, { 5, 5, Z, 0 }, { 10, 5, Z | H, 0 } },
    3, { { 0, 5, 0 }, { 5, 5, Z }, { 10, 5, Z | H } } },
  { "merge only with the last extent", 4,
    { { 0, 5, Z, 0 }, { 5, 5, 0, 0 }, { 10, 5, Z, 0 }, { 15, 5, Z, 0 } },
    3, { { 0, 5, Z }, { 5, 5, 0 }, { 10, 10, Z } } },
  { "gap is EINVAL, list unchanged", 2,
    { { 0, 5, 0, 0 }, { 6, 5, 0, EINVAL } }, 1, { { 0, 5, 0 } } },
  { "overlap is EINVAL, list unchanged", 2,
    { { 0, 5, 0, 0 }, { 4, 5, Z, EINVAL } }, 1, { { 0, 5, 0 } } },
  { "repeat of the same extent is an overlap", 2,
    { { 10, 5, 0, 0 }, { 10, 5, 0, EINVAL } }, 1, { { 10, 5, 0 } } },
  { "extent before the list start is an overlap", 2,
    { { 10, 5, 0, 0 }, { 0, 10, 0, EINVAL } }, 1, { { 10, 5, 0 } } },
  { "wrap-around is EINVAL", 1, { { UINT64_MAX - 1, 3, 0, EINVAL } },
    0, { { 0 } } },
  { "extent ending exactly at 2^64-1 is fine", 2,
    { { UINT64_MAX - 10, 5, 0, 0 }, { UINT64_MAX - 5, 5, D, 0 } },
    2, { { UINT64_MAX - 10, 5, 0 }, { UINT64_MAX - 5, 5, D } } },
  { "error after a merge keeps the merged extent", 3,
    { { 0, 5, 0, 0 }, { 5, 5, 0, 0 }, { 11, 1, 0, EINVAL } },
    1, { { 0, 10, 0 } } },
};

static void
test_append (void)
{
  size_t c, i;

  for (c = 0; c < sizeof append_cases / sizeof append_cases[0]; c++) {
    const struct append_case *tc = &append_cases[c];
    struct extent_list list;
    bool ops_ok = true;

    extent_list_init (&list);
    for (i = 0; i < tc->n_ops; i++) {
      const struct append_op *op = &tc->ops[i];
      int r;

      error_clear ();
      r = extent_list_append (&list, op->start, op->length, op->flags);
      if (op->ret == 0 ? r != 0 : (r != -1 || errno != op->ret
                                   || error_errno () != op->ret))
        ops_ok = false;
    }
    tap_ok (ops_ok, "append: %s: return values", tc->name);
    tap_ok (extents_equal (&list, tc->expect, tc->n_expect, tc->name),
            "append: %s: resulting list", tc->name);
    tap_ok (extent_list_end (&list)
            == (tc->n_expect ? tc->expect[tc->n_expect - 1].start
                + tc->expect[tc->n_expect - 1].length : 0),
            "append: %s: end", tc->name);
    extent_list_free (&list);
  }
}

/* Many extents: the list grows past its first allocation. */
static void
test_growth (void)
{
  struct extent_list list;
  size_t i, n = 1000;
  bool ok = true;

  extent_list_init (&list);
  for (i = 0; i < n; i++) {
    if (extent_list_append (&list, i * 3, 3, i % 2 ? Z : 0) == -1)
      ok = false;
  }
  tap_ok (ok, "growth: 1000 appends succeed");
  tap_ok (list.count == n && list.capacity >= n, "growth: count %zu", list.count);
  for (i = 0; ok && i < n; i++) {
    if (list.items[i].start != i * 3 || list.items[i].length != 3
        || list.items[i].flags != (i % 2 ? Z : 0u))
      ok = false;
  }
  tap_ok (ok, "growth: every item kept");
  tap_ok (extent_list_end (&list) == n * 3, "growth: end");

  /* clear forgets items but keeps the allocation. */
  {
    size_t capacity = list.capacity;
    struct extent *items = list.items;

    extent_list_clear (&list);
    tap_ok (list.count == 0 && list.capacity == capacity
            && list.items == items, "clear keeps the allocation");
    tap_ok (extent_list_end (&list) == 0, "clear: end is 0");
    tap_ok (extent_list_append (&list, 12345, 1, D) == 0
            && list.count == 1 && list.items[0].start == 12345,
            "clear: the next append may start anywhere");
  }
  extent_list_free (&list);
  tap_ok (list.items == NULL && list.count == 0 && list.capacity == 0,
          "free resets the list");
  /* A second free must see the reset list, not free items again (a
   * double free would show under make check-valgrind), and leave it
   * usable. */
  extent_list_free (&list);
  tap_ok (list.items == NULL && list.count == 0 && list.capacity == 0,
          "free twice: still reset");
  tap_ok (extent_list_append (&list, 0, 7, D) == 0 && list.count == 1
          && extent_list_end (&list) == 7,
          "free twice: the list can be used again");
  extent_list_free (&list);
}

struct merge_case {
  const char *name;
  size_t n_a;
  struct extent a[MAX_ITEMS];
  size_t n_b;
  struct extent b[MAX_ITEMS];
  unsigned b_mask;
  size_t n_out_before;          /* out holds these before the merge */
  struct extent out_before[MAX_ITEMS];
  int ret;                      /* 0, or errno */
  size_t n_expect;
  struct extent expect[MAX_ITEMS];
};

static const struct merge_case merge_cases[] = {
  { "both empty", 0, { { 0 } }, 0, { { 0 } }, D, 0, { { 0 } }, 0, 0, { { 0 } } },
  { "same boundaries", 2, { { 0, 10, 0 }, { 10, 10, Z } },
    2, { { 0, 10, D }, { 10, 10, 0 } }, D, 0, { { 0 } },
    0, 2, { { 0, 10, D }, { 10, 10, Z } } },
  { "unaligned boundaries", 2, { { 0, 10, 0 }, { 10, 20, Z } },
    3, { { 0, 5, D }, { 5, 20, 0 }, { 25, 5, D } }, D, 0, { { 0 } },
    0, 4, { { 0, 5, D }, { 5, 5, 0 }, { 10, 15, Z }, { 25, 5, Z | D } } },
  { "mask drops b's other flags", 1, { { 0, 8, 0 } },
    2, { { 0, 4, Z | H | D }, { 4, 4, Z } }, D, 0, { { 0 } },
    0, 2, { { 0, 4, D }, { 4, 4, 0 } } },
  { "mask 0 gives a back", 2, { { 0, 3, 0 }, { 3, 3, Z } },
    1, { { 0, 6, D } }, 0, 0, { { 0 } },
    0, 2, { { 0, 3, 0 }, { 3, 3, Z } } },
  { "equal pieces merge in the result", 2, { { 0, 10, Z }, { 10, 10, 0 } },
    3, { { 0, 5, D }, { 5, 10, 0 }, { 15, 5, D } }, D, 0, { { 0 } },
    0, 4, { { 0, 5, Z | D }, { 5, 5, Z }, { 10, 5, 0 }, { 15, 5, D } } },
  { "all dirty over many allocation extents", 3,
    { { 0, 1, 0 }, { 1, 1, Z }, { 2, 1, 0 } },
    1, { { 0, 3, D } }, D, 0, { { 0 } },
    0, 3, { { 0, 1, D }, { 1, 1, Z | D }, { 2, 1, D } } },
  { "b boundaries inside one a extent", 1, { { 100, 100, Z } },
    3, { { 100, 1, 0 }, { 101, 98, D }, { 199, 1, 0 } }, D, 0, { { 0 } },
    0, 3, { { 100, 1, Z }, { 101, 98, Z | D }, { 199, 1, Z } } },
  { "nonzero start, appended after existing items", 1, { { 50, 50, 0 } },
    1, { { 50, 50, 0 } }, D, 1, { { 0, 50, 0 } },
    0, 1, { { 0, 100, 0 } } },
  { "a empty, b not", 0, { { 0 } }, 1, { { 0, 5, 0 } }, D, 0, { { 0 } },
    EINVAL, 0, { { 0 } } },
  { "b empty, a not", 1, { { 0, 5, 0 } }, 0, { { 0 } }, D, 0, { { 0 } },
    EINVAL, 0, { { 0 } } },
  { "different starts", 1, { { 0, 10, 0 } }, 1, { { 1, 9, 0 } }, D,
    0, { { 0 } }, EINVAL, 0, { { 0 } } },
  { "different ends", 1, { { 0, 10, 0 } }, 1, { { 0, 11, 0 } }, D,
    0, { { 0 } }, EINVAL, 0, { { 0 } } },
  { "out does not end where a starts", 1, { { 10, 10, 0 } },
    1, { { 10, 10, 0 } }, D, 1, { { 0, 5, 0 } }, EINVAL, 1, { { 0, 5, 0 } } },
};

/* Fill a list by hand, as a test must to build invalid ones. */
static void
fill (struct extent_list *list, const struct extent *items, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    extent_list_append (list, items[i].start, items[i].length,
                        items[i].flags);
}

static void
test_merge (void)
{
  size_t c;

  for (c = 0; c < sizeof merge_cases / sizeof merge_cases[0]; c++) {
    const struct merge_case *tc = &merge_cases[c];
    struct extent_list a, b, out;
    int r;

    extent_list_init (&a);
    extent_list_init (&b);
    extent_list_init (&out);
    fill (&a, tc->a, tc->n_a);
    fill (&b, tc->b, tc->n_b);
    fill (&out, tc->out_before, tc->n_out_before);
    r = extent_list_merge (&a, &b, tc->b_mask, &out);
    if (tc->ret == 0)
      tap_ok (r == 0, "merge: %s: succeeds", tc->name);
    else
      tap_ok (r == -1 && errno == tc->ret, "merge: %s: fails with errno %d",
              tc->name, tc->ret);
    if (tc->ret == 0 || tc->n_expect > 0)
      tap_ok (extents_equal (&out, tc->expect, tc->n_expect, tc->name),
              "merge: %s: result", tc->name);
    extent_list_free (&a);
    extent_list_free (&b);
    extent_list_free (&out);
  }
}

/* Lists filled by hand with gaps or overlaps are refused, not misread. */
static void
test_merge_invalid_lists (void)
{
  static const struct {
    const char *name;
    size_t n_a;
    struct extent a[3];
  } cases[] = {
    { "gap inside a", 2, { { 0, 4, 0 }, { 5, 5, Z } } },
    { "overlap inside a", 2, { { 0, 6, 0 }, { 5, 5, Z } } },
    { "zero-length item inside a", 3, { { 0, 5, 0 }, { 5, 0, Z }, { 5, 5, 0 } } },
  };
  struct extent b_item = { 0, 10, D };
  size_t c;

  for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct extent items[3];
    struct extent_list a = { items, cases[c].n_a, 3 };
    struct extent_list b = { &b_item, 1, 1 };
    struct extent_list out;
    int r;

    memcpy (items, cases[c].a, sizeof items);
    extent_list_init (&out);
    r = extent_list_merge (&a, &b, D, &out);
    tap_ok (r == -1 && errno == EINVAL, "merge: %s: EINVAL", cases[c].name);
    extent_list_free (&out);
  }
}

int
main (void)
{
  test_append ();
  test_growth ();
  test_merge ();
  test_merge_invalid_lists ();
  return tap_done ();
}
