/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "error.h"
#include "extents.h"

/* Lists start small: most answers are a handful of extents. */
#define EXTENT_LIST_INITIAL_CAPACITY 16

void
extent_list_init (struct extent_list *list)
{
  list->items = NULL;
  list->count = 0;
  list->capacity = 0;
}

void
extent_list_free (struct extent_list *list)
{
  free (list->items);
  extent_list_init (list);
}

void
extent_list_clear (struct extent_list *list)
{
  list->count = 0;
}

uint64_t
extent_list_end (const struct extent_list *list)
{
  const struct extent *last;

  if (list->count == 0)
    return 0;
  last = &list->items[list->count - 1];
  return last->start + last->length;
}

/* Make room for one more item, doubling so appends are amortized O(1). */
static int
extent_list_grow (struct extent_list *list)
{
  size_t capacity;
  struct extent *items;

  if (list->count < list->capacity)
    return 0;

  if (list->capacity == 0)
    capacity = EXTENT_LIST_INITIAL_CAPACITY;
  else if (__builtin_mul_overflow (list->capacity, 2, &capacity)
           || capacity > SIZE_MAX / sizeof *items) {
    error_set (ENOMEM, "extent list: too many extents (%zu)", list->count);
    return -1;
  }

  items = realloc (list->items, capacity * sizeof *items);
  if (items == NULL) {
    error_set (ENOMEM, "extent list: cannot grow to %zu extents", capacity);
    return -1;
  }
  list->items = items;
  list->capacity = capacity;
  return 0;
}

int
extent_list_append (struct extent_list *list, uint64_t start,
                    uint64_t length, unsigned flags)
{
  uint64_t end;
  struct extent *last;

  if (length == 0)
    return 0;

  if (__builtin_add_overflow (start, length, &end)) {
    error_set (EINVAL, "extent at %" PRIu64 " length %" PRIu64
               " wraps around", start, length);
    return -1;
  }

  if (list->count > 0) {
    last = &list->items[list->count - 1];
    if (start != last->start + last->length) {
      error_set (EINVAL, "extent at %" PRIu64 " does not follow the previous "
                 "one ending at %" PRIu64 " (%s)",
                 start, last->start + last->length,
                 start > last->start + last->length ? "gap" : "overlap");
      return -1;
    }
    if (last->flags == flags) {
      last->length += length;
      return 0;
    }
  }

  if (extent_list_grow (list) == -1)
    return -1;
  list->items[list->count].start = start;
  list->items[list->count].length = length;
  list->items[list->count].flags = flags;
  list->count++;
  return 0;
}

/* Lists built by extent_list_append are contiguous; one filled by hand
 * with a gap, an overlap or an empty item is refused rather than misread. */
static int
extent_list_check_contiguous (const struct extent_list *list)
{
  size_t i;

  for (i = 0; i < list->count; i++) {
    const struct extent *e = &list->items[i];
    uint64_t end;

    if (e->length == 0 || __builtin_add_overflow (e->start, e->length, &end)
        || (i + 1 < list->count && list->items[i + 1].start != end)) {
      error_set (EINVAL, "extent list to merge is not contiguous at %"
                 PRIu64, e->start);
      return -1;
    }
  }
  return 0;
}

/* Both lists must describe the same range with no gaps, or the pieces
 * of the result would have no meaning. */
static int
extent_list_check_same_range (const struct extent_list *a,
                              const struct extent_list *b)
{
  if (extent_list_check_contiguous (a) == -1
      || extent_list_check_contiguous (b) == -1)
    return -1;
  if (a->count == 0 && b->count == 0)
    return 0;
  if (a->count == 0 || b->count == 0
      || a->items[0].start != b->items[0].start
      || extent_list_end (a) != extent_list_end (b)) {
    error_set (EINVAL, "extent lists to merge cover different ranges "
               "([%" PRIu64 ", %" PRIu64 ") and [%" PRIu64 ", %" PRIu64 "))",
               a->count ? a->items[0].start : 0, extent_list_end (a),
               b->count ? b->items[0].start : 0, extent_list_end (b));
    return -1;
  }
  return 0;
}

int
extent_list_merge (const struct extent_list *a, const struct extent_list *b,
                   unsigned b_mask, struct extent_list *out)
{
  size_t i = 0, j = 0;
  uint64_t pos, end, a_end, b_end, piece_end;

  if (extent_list_check_same_range (a, b) == -1)
    return -1;
  if (a->count == 0)
    return 0;

  pos = a->items[0].start;
  end = extent_list_end (a);
  while (pos < end) {
    /* Both lists are contiguous with the same start and end (checked
     * above), so neither runs out before pos reaches end. */
    const struct extent *ea, *eb;

    assert (i < a->count && j < b->count);
    ea = &a->items[i];
    eb = &b->items[j];

    a_end = ea->start + ea->length;
    b_end = eb->start + eb->length;
    piece_end = a_end < b_end ? a_end : b_end;

    if (extent_list_append (out, pos, piece_end - pos,
                            ea->flags | (eb->flags & b_mask)) == -1)
      return -1;

    pos = piece_end;
    if (a_end == piece_end)
      i++;
    if (b_end == piece_end)
      j++;
  }
  return 0;
}
