/* SPDX-License-Identifier: Apache-2.0 */
/* Extent lists: what each part of an image is (data, zero, hole, dirty).
 *
 * Backends append what they learn in ascending order; extent_list_append
 * merges an extent into the previous one when they touch and have equal
 * flags, so a list is always gap-free once complete and never holds two
 * adjacent equal extents.
 */
#ifndef IMAGEXFER_EXTENTS_H
#define IMAGEXFER_EXTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum extents_context {
  EXTENTS_CONTEXT_ZERO,   /* zero/hole (allocation) */
  EXTENTS_CONTEXT_DIRTY,  /* dirty bitmap merged with allocation */
};

/* Flag bits of an extent. */
#define EXTENT_ZERO 1u    /* reads as zeroes */
#define EXTENT_HOLE 2u    /* unallocated, reads from the backing chain */
#define EXTENT_DIRTY 4u   /* changed since the bitmap was created */

struct extent {
  uint64_t start;
  uint64_t length;
  unsigned flags;
};

struct extent_list {
  struct extent *items;
  size_t count;
  size_t capacity;
};

void extent_list_init (struct extent_list *list);
void extent_list_free (struct extent_list *list);
/* Forget the items but keep the allocation (reuse between steps). */
void extent_list_clear (struct extent_list *list);

/* Append [start, start+length) with flags.  start must equal the end of
 * the last extent (or anything for the first one).  Zero-length extents
 * are ignored.  Returns 0, or -1 with error_set (ENOMEM or EINVAL for a
 * gap/overlap). */
int extent_list_append (struct extent_list *list, uint64_t start,
                        uint64_t length, unsigned flags);

/* End offset of the last extent, or 0 for an empty list. */
uint64_t extent_list_end (const struct extent_list *list);

/* Combine two lists covering the same [start, end): each piece of the
 * result has the flags of a covering extent of a, OR-ed with the flags of
 * the covering extent of b masked by b_mask.  Used to merge a dirty bitmap
 * with allocation.  Appends to out.  Returns 0 or -1 (ENOMEM/EINVAL). */
int extent_list_merge (const struct extent_list *a, const struct extent_list *b,
                       unsigned b_mask, struct extent_list *out);

#endif
