/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend: extents from block status, one list per meta context,
 * merged into what the API reports.
 *
 * One call keeps up to NBD_EXTENTS_IN_FLIGHT block status commands in
 * flight, each for a range of at most NBD_EXTENTS_MAX: a multi-terabyte
 * export takes a thousand commands, and one at a time each would wait for
 * the round trip of the one before.  Ranges are merged in order; a range
 * the server described only in part is asked again from where the answer
 * stopped, so later ranges already answered are kept. */
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

/* The contexts one block status reply described. */
#define NBD_ANSWERED_ALLOCATION 1u
#define NBD_ANSWERED_DEPTH 2u
#define NBD_ANSWERED_BITMAP 4u

void
nbd_backend_extents_init (struct nbd_backend *nb)
{
  size_t i;

  for (i = 0; i < NBD_EXTENTS_IN_FLIGHT; i++) {
    struct nbd_extents_range *range = &nb->ranges[i];

    range->nb = nb;
    extent_list_init (&range->allocation);
    extent_list_init (&range->depth);
    extent_list_init (&range->bitmap);
  }
}

void
nbd_backend_extents_free (struct nbd_backend *nb)
{
  size_t i;

  for (i = 0; i < NBD_EXTENTS_IN_FLIGHT; i++) {
    extent_list_free (&nb->ranges[i].allocation);
    extent_list_free (&nb->ranges[i].depth);
    extent_list_free (&nb->ranges[i].bitmap);
  }
}

/* Called once per context of a block status reply. */
static int
nbd_backend_got_extents (void *opaque, const char *context,
                         uint64_t offset, uint32_t *entries,
                         size_t nr_entries, int *error)
{
  struct nbd_extents_range *range = opaque;
  struct nbd_backend *nb = range->nb;
  struct extent_list *list;
  unsigned answered;
  size_t i;

  if (strcmp (context, CONTEXT_ALLOCATION) == 0) {
    list = &range->allocation;
    answered = NBD_ANSWERED_ALLOCATION;
  }
  else if (range->context == EXTENTS_CONTEXT_ZERO
           && strcmp (context, CONTEXT_DEPTH) == 0) {
    list = &range->depth;
    answered = NBD_ANSWERED_DEPTH;
  }
  else if (range->context == EXTENTS_CONTEXT_DIRTY
           && nb->bitmap_context != NULL
           && strcmp (context, nb->bitmap_context) == 0) {
    list = &range->bitmap;
    answered = NBD_ANSWERED_BITMAP;
  }
  else
    return 0;                   /* a context this call does not need */

  /* A server sending one context twice, or for another offset than the
   * one asked: refuse rather than guess. */
  if ((range->answered & answered) != 0 || offset != range->asked
      || extent_list_end (list) != (list->count > 0 ? offset : 0)) {
    *error = EPROTO;
    return -1;
  }
  range->answered |= answered;
  for (i = 0; i + 1 < nr_entries; i += 2) {
    uint32_t length = entries[i], state = entries[i + 1];
    unsigned flags;

    if (list == &range->allocation)
      flags = state & LIBNBD_STATE_ZERO ? EXTENT_ZERO : 0;
    else if (list == &range->depth)
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

static int
nbd_backend_range_replied (void *opaque, int *error)
{
  struct nbd_extents_range *range = opaque;

  range->error = *error;
  range->in_flight = false;
  return 1;                     /* retire the command */
}

static bool
nbd_range_is_replied (void *arg)
{
  return !((const struct nbd_extents_range *) arg)->in_flight;
}

/* Send the block status command for [offset, range->end). */
static int
nbd_backend_range_ask (struct nbd_extents_range *range, uint64_t offset)
{
  nbd_extent_callback got = {
    .callback = nbd_backend_got_extents, .user_data = range,
  };
  nbd_completion_callback replied = {
    .callback = nbd_backend_range_replied, .user_data = range,
  };

  range->asked = offset;
  range->answered = 0;
  range->error = 0;
  range->in_flight = true;
  if (nbd_aio_block_status (range->nb->nbd, range->end - offset, offset, got,
                            replied, 0) == -1) {
    /* Not sent: its callbacks will not run. */
    range->in_flight = false;
    return -1;
  }
  return 0;
}

static void
nbd_backend_range_start (struct nbd_extents_range *range,
                         enum extents_context context, uint64_t start,
                         uint64_t end)
{
  range->context = context;
  range->start = start;
  range->end = end;
  extent_list_clear (&range->allocation);
  extent_list_clear (&range->depth);
  extent_list_clear (&range->bitmap);
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

/* The list a call merges with allocation, and its NBD_ANSWERED_ bit:
 * dirty extents need the bitmap, zero extents the allocation depth. */
static struct extent_list *
nbd_range_second (struct nbd_extents_range *range, unsigned *answered)
{
  if (range->context == EXTENTS_CONTEXT_DIRTY) {
    *answered = NBD_ANSWERED_BITMAP;
    return &range->bitmap;
  }
  *answered = NBD_ANSWERED_DEPTH;
  return &range->depth;
}

/* After a reply: keep what both contexts the call needs described, and
 * say how far that reaches (*covered).  -1 with the error set when the
 * reply described nothing new. */
static int
nbd_backend_range_settle (struct nbd_extents_range *range, uint64_t *covered)
{
  struct nbd_backend *nb = range->nb;
  unsigned second_bit;
  struct extent_list *second = nbd_range_second (range, &second_bit);
  uint64_t end = range->end;

  if ((range->answered & NBD_ANSWERED_ALLOCATION) != 0
      && extent_list_end (&range->allocation) < end)
    end = extent_list_end (&range->allocation);
  if ((range->answered & second_bit) != 0 && extent_list_end (second) < end)
    end = extent_list_end (second);
  if (end <= range->asked
      || (range->answered & NBD_ANSWERED_ALLOCATION) == 0
      || (range->context == EXTENTS_CONTEXT_DIRTY
          && (range->answered & NBD_ANSWERED_BITMAP) == 0)) {
    log_error ("extents: transfer %s: the NBD server described nothing "
               "at offset %" PRIu64 " (contexts answered:%s%s%s)", nb->id,
               range->asked,
               range->answered & NBD_ANSWERED_ALLOCATION ? " allocation" : "",
               range->answered & NBD_ANSWERED_DEPTH ? " depth" : "",
               range->answered & NBD_ANSWERED_BITMAP ? " bitmap" : "");
    return nbd_backend_op_failed (nb, EIO, "extents", range->asked, NULL);
  }
  extents_truncate (&range->allocation, end);
  extents_truncate (second, end);
  /* No depth answer (not qemu): everything is allocated here. */
  if ((range->answered & second_bit) == 0
      && extent_list_append (second, range->asked, end - range->asked, 0)
         == -1)
    return -1;
  *covered = end;
  return 0;
}

/* A call leaves nothing in flight that could write into the ranges
 * during the next one: returns 0 once every command is answered, -1
 * when the connection is gone, silent or given up (a failed call is
 * then the request's end, and nothing more arrives before nbd_close). */
static int
nbd_backend_extents_drain (struct nbd_backend *nb)
{
  size_t i;

  for (i = 0; i < NBD_EXTENTS_IN_FLIGHT; i++) {
    if (!nb->ranges[i].in_flight)
      continue;
    if (nb->nbd == NULL || nb->timed_out || nbd_aio_is_dead (nb->nbd) == 1
        || nbd_backend_poll_request (nb, nbd_range_is_replied,
                                     &nb->ranges[i]) == -1)
      return -1;
  }
  return 0;
}

int
nbd_backend_extents (struct backend *b, enum extents_context context,
                     uint64_t count, uint64_t offset,
                     struct extent_list *list)
{
  struct nbd_backend *nb = to_nbd (b);
  uint64_t end = offset + count, next = offset, covered = 0;
  size_t nr = 0, i;
  unsigned bit;

  if (nbd_backend_op_begin (nb, "extents", offset) == -1)
    return -1;
  /* The ranges, in order, to cover as much of count as they can. */
  while (next < end && nr < NBD_EXTENTS_IN_FLIGHT) {
    uint64_t n = end - next < NBD_EXTENTS_MAX ? end - next : NBD_EXTENTS_MAX;

    nbd_backend_range_start (&nb->ranges[nr], context, next, next + n);
    if (nbd_backend_range_ask (&nb->ranges[nr], next) == -1) {
      nbd_backend_failed (nb, "extents", next);
      goto fail;
    }
    next += n;
    nr++;
  }

  for (i = 0; i < nr; i++) {
    struct nbd_extents_range *range = &nb->ranges[i];

    for (;;) {
      if (nbd_backend_poll_request (nb, nbd_range_is_replied, range)
          == -1) {
        nbd_backend_op_failed (nb, errno, "extents", range->asked,
                               errno == ETIMEDOUT ? NULL : nbd_get_error ());
        goto fail;
      }
      if (range->error != 0) {
        nbd_backend_op_failed (nb, range->error, "extents", range->asked,
                               NULL);
        goto fail;
      }
      if (nbd_backend_range_settle (range, &covered) == -1)
        goto fail;
      if (covered == range->end
          || range->allocation.count + nbd_range_second (range, &bit)->count
             >= NBD_EXTENTS_PART_MAX)
        break;
      /* Described in part: the rest of this range, while the later
       * ones wait with their answers; a stopped call asks nothing new. */
      if (nbd_backend_stopping (nb)) {
        nbd_backend_op_failed (nb, ECANCELED, "extents", covered, NULL);
        goto fail;
      }
      if (nbd_backend_range_ask (range, covered) == -1) {
        nbd_backend_failed (nb, "extents", covered);
        goto fail;
      }
    }
    if (context == EXTENTS_CONTEXT_DIRTY) {
      if (extent_list_merge (&range->bitmap, &range->allocation, EXTENT_ZERO,
                             list) == -1)
        goto fail;
    }
    else if (extent_list_merge (&range->allocation, &range->depth,
                                EXTENT_HOLE, list) == -1)
      goto fail;
    /* Described in part (NBD_EXTENTS_PART_MAX), or enough for one call:
     * what follows is the caller's next call. */
    if (covered < range->end || list->count >= NBD_EXTENTS_PART_MAX) {
      /* The later ranges' answers must not land in the next call's. */
      errno = 0;
      if (nbd_backend_extents_drain (nb) == -1) {
        nbd_backend_op_failed (nb, nb->timed_out ? ETIMEDOUT
                                   : errno ? errno : EIO,
                               "extents", covered, NULL);
        goto fail;
      }
      break;
    }
  }
  return 0;

 fail:
  (void) nbd_backend_extents_drain (nb);
  return -1;
}
