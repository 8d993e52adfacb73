/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend: extents from block status, one list per meta context,
 * merged into what the API reports. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnbd.h>

#include "backend-nbd.h"
#include "error.h"
#include "log.h"

/* Called once per context of a block status reply. */
static int
nbd_backend_got_extents (void *opaque, const char *context,
                         uint64_t offset, uint32_t *entries,
                         size_t nr_entries, int *error)
{
  struct nbd_backend *nb = opaque;
  struct extent_list *list;
  size_t i;

  if (strcmp (context, CONTEXT_ALLOCATION) == 0)
    list = &nb->allocation;
  else if (strcmp (context, CONTEXT_DEPTH) == 0)
    list = &nb->depth;
  else if (nb->bitmap_context != NULL
           && strcmp (context, nb->bitmap_context) == 0)
    list = &nb->bitmap;
  else
    return 0;

  if (list->count > 0) {
    /* A server sending one context twice: refuse rather than guess. */
    *error = EPROTO;
    return -1;
  }
  for (i = 0; i + 1 < nr_entries; i += 2) {
    uint32_t length = entries[i], state = entries[i + 1];
    unsigned flags;

    if (list == &nb->allocation)
      flags = state & LIBNBD_STATE_ZERO ? EXTENT_ZERO : 0;
    else if (list == &nb->depth)
      flags = state == 0 ? EXTENT_HOLE : 0;
    else
      flags = state & NBD_STATE_DIRTY ? EXTENT_DIRTY : 0;
    if (extent_list_append (list, offset, length, flags) == -1) {
      *error = errno;
      return -1;
    }
    offset += length;
  }
  return 0;
}

/* Cut list at end (the part every context described). */
static void
extents_truncate (struct extent_list *list, uint64_t end)
{
  while (list->count > 0 && list->items[list->count - 1].start >= end)
    list->count--;
  if (list->count > 0) {
    struct extent *last = &list->items[list->count - 1];

    if (last->start + last->length > end)
      last->length = end - last->start;
  }
}

/* The end of the range every answered context covers, clipped to end. */
static uint64_t
extents_common_end (struct nbd_backend *nb, uint64_t offset, uint64_t end)
{
  struct extent_list *lists[] = { &nb->allocation, &nb->depth, &nb->bitmap };
  size_t i;

  for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    if (lists[i]->count > 0 && extent_list_end (lists[i]) < end)
      end = extent_list_end (lists[i]);
  }
  return end > offset ? end : offset;
}

int
nbd_backend_extents (struct backend *b, enum extents_context context,
                     uint64_t count, uint64_t offset,
                     struct extent_list *list)
{
  struct nbd_backend *nb = to_nbd (b);
  nbd_extent_callback callback = {
    .callback = nbd_backend_got_extents, .user_data = nb,
  };
  uint64_t end;

  if (count > NBD_EXTENTS_MAX)
    count = NBD_EXTENTS_MAX;
  extent_list_clear (&nb->allocation);
  extent_list_clear (&nb->depth);
  extent_list_clear (&nb->bitmap);

  if (nbd_backend_await (nb, nbd_aio_block_status (nb->nbd, count, offset,
                                                   callback,
                                                   nbd_backend_expect (nb,
                                                                       offset),
                                                   0),
                         "extents", offset) == -1)
    return -1;

  end = extents_common_end (nb, offset, offset + count);
  if (end == offset || nb->allocation.count == 0
      || (context == EXTENTS_CONTEXT_DIRTY && nb->bitmap.count == 0)) {
    log_error ("extents: transfer %s: the NBD server described nothing "
               "at offset %" PRIu64 " (allocation %zu, depth %zu, bitmap "
               "%zu extents)", nb->id, offset, nb->allocation.count,
               nb->depth.count, nb->bitmap.count);
    return nbd_backend_op_failed (nb, EIO, "extents", offset, NULL);
  }
  extents_truncate (&nb->allocation, end);
  extents_truncate (&nb->bitmap, end);
  extents_truncate (&nb->depth, end);
  /* No depth answer (not qemu): everything is allocated here. */
  if (nb->depth.count == 0
      && extent_list_append (&nb->depth, offset, end - offset, 0) == -1)
    return -1;

  if (context == EXTENTS_CONTEXT_DIRTY)
    return extent_list_merge (&nb->bitmap, &nb->allocation, EXTENT_ZERO,
                              list);
  return extent_list_merge (&nb->allocation, &nb->depth, EXTENT_HOLE, list);
}
