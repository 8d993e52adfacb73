/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "backend-registry.h"
#include "config-file.h"
#include "checked.h"
#include "error.h"
#include "monotonic.h"

/* libnbd refuses requests over 64 MiB; 32 MiB is a safe default for any
 * backend that does not say otherwise. */
#define BACKEND_DEFAULT_MAX_REQUEST (32u * 1024 * 1024)

/* Zeroing without a zero op writes this many zero bytes per call. */
#define ZERO_BUFFER_SIZE (1024u * 1024)

/* Extents: how much one ops->extents call is asked to describe. */
#define EXTENTS_STEP (UINT64_C (64) * 1024 * 1024 * 1024)

static unsigned timeout_seconds = CONFIG_DEFAULT_BACKEND_TIMEOUT;
static unsigned keep_seconds = CONFIG_DEFAULT_BACKEND_KEEP_SECONDS;

void
backend_set_keep_seconds (unsigned seconds)
{
  keep_seconds = seconds;
}

void
backend_set_timeout (unsigned seconds)
{
  timeout_seconds = seconds;
}

unsigned
backend_timeout (void)
{
  return timeout_seconds;
}

static bool direct_writes = true;

void
backend_set_direct_writes (bool direct)
{
  direct_writes = direct;
}

bool
backend_direct_writes (void)
{
  return direct_writes;
}

static bool (*cancel_check) (const struct transfer *);

void
backend_set_cancel_check (bool (*still_wanted) (const struct transfer *))
{
  cancel_check = still_wanted;
}

bool
backend_still_wanted (const struct backend *b)
{
  return cancel_check == NULL || b->transfer == NULL
         || cancel_check (b->transfer);
}

void
backend_set_abandoned (struct backend *b, bool abandoned)
{
  atomic_store_explicit (&b->abandoned, abandoned, memory_order_relaxed);
}

void
backend_watch_client (struct backend *b, int fd)
{
  b->client_fd = fd;
  b->client_gone = false;
}

bool
backend_client_gone (struct backend *b)
{
  struct pollfd pfd = { .fd = b->client_fd, .events = POLLRDHUP };

  if (!b->client_gone && b->client_fd != -1 && poll (&pfd, 1, 0) == 1
      && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
    b->client_gone = true;
  return b->client_gone;
}

/* The backend kept open between two requests (backend_release), and
 * what it was opened for.  A worker serves one request at a time, so one
 * slot and no lock. */
static struct {
  struct backend *b;
  char id[TRANSFER_ID_MAX + 1];
  dev_t spool_dev;
  ino_t spool_ino;
  time_t spool_mtime;
  long spool_mtime_nsec;
  struct timespec since;
  struct timespec checked;      /* the cancel check last asked */
} kept;

/* How often a kept backend's transfer is checked between requests: a
 * cancelled transfer's image (a file, an NBD connection) is let go of
 * within about this long. */
#define KEPT_CHECK_MS 1000

/* Clip to the descriptor's size (a descriptor size larger than the
 * backend is an error). */
static int
backend_apply_size (struct backend *b, const struct transfer *t)
{
  b->size = b->own_size;
  if (t->has_size) {
    if (t->size > b->own_size) {
      error_set (EINVAL, "transfer %s: size %" PRIu64 " is larger than the "
                 "%s backend's size %" PRIu64, t->id, t->size, t->type->name,
                 b->own_size);
      return -1;
    }
    b->size = t->size;
  }
  return 0;
}

/* The kept backend, when it was opened for this very descriptor (the
 * same spool file, not rewritten since) with this access and still
 * works; else NULL (and whatever was kept is closed). */
static struct backend *
backend_take_kept (const struct transfer *t, bool writable)
{
  struct backend *b = kept.b;

  if (b == NULL)
    return NULL;
  kept.b = NULL;
  if (b->ops == t->type->ops && b->writable == writable
      && strcmp (kept.id, t->id) == 0
      && kept.spool_dev == t->spool_dev && kept.spool_ino == t->spool_ino
      && kept.spool_mtime == t->spool_mtime
      && kept.spool_mtime_nsec == t->spool_mtime_nsec
      && b->ops->reuse (b, t) && backend_apply_size (b, t) == 0) {
    b->transfer = t;
    return b;
  }
  b->ops->close (b);
  return NULL;
}

struct backend *
backend_open (const struct transfer *t, bool writable)
{
  const struct backend_ops *ops = t->type->ops;
  struct backend *b = backend_take_kept (t, writable);

  if (b != NULL)
    return b;
  b = ops->open (t, writable);
  if (b == NULL)
    return NULL;

  b->ops = ops;
  b->transfer = t;
  b->writable = writable;
  b->failed = false;
  atomic_init (&b->abandoned, false);
  backend_watch_client (b, -1);
  b->cached_can_write = b->cached_can_zero = b->cached_can_flush = -2;
  b->cached_can_extents = b->cached_can_dirty = -2;
  b->own_size = b->size;
  if (backend_apply_size (b, t) == -1) {
    ops->close (b);
    return NULL;
  }
  if (b->max_request == 0)
    b->max_request = BACKEND_DEFAULT_MAX_REQUEST;
  return b;
}

void
backend_close (struct backend *b)
{
  if (b != NULL)
    b->ops->close (b);
}

void
backend_release (struct backend *b)
{
  const struct transfer *t;

  if (b == NULL)
    return;
  if (b->failed || b->ops->can_keep == NULL || b->ops->reuse == NULL
      || !b->ops->can_keep (b)) {
    backend_close (b);
    return;
  }
  backend_drop_kept ();
  backend_watch_client (b, -1);
  t = b->transfer;
  kept.b = b;
  snprintf (kept.id, sizeof kept.id, "%s", t->id);
  kept.spool_dev = t->spool_dev;
  kept.spool_ino = t->spool_ino;
  kept.spool_mtime = t->spool_mtime;
  kept.spool_mtime_nsec = t->spool_mtime_nsec;
  clock_gettime (CLOCK_MONOTONIC, &kept.since);
  kept.checked = kept.since;
  /* The descriptor is freed after the request: nothing may point there
   * until the next request hands its own copy to reuse. */
  b->transfer = NULL;
}

void
backend_drop_kept (void)
{
  if (kept.b != NULL) {
    kept.b->ops->close (kept.b);
    kept.b = NULL;
  }
}

int
backend_kept_idle_ms (void)
{
  struct timespec now;
  int64_t idle_ms;

  if (kept.b == NULL)
    return -1;
  clock_gettime (CLOCK_MONOTONIC, &now);
  idle_ms = monotonic_ms_between (&kept.since, &now);
  if (idle_ms >= (int64_t) keep_seconds * 1000)
    return 0;
  return (int) ((int64_t) keep_seconds * 1000 - idle_ms);
}

/* The cancel check on the kept backend's transfer, which is known by its
 * id alone between requests. */
static bool
kept_transfer_wanted (void)
{
  static struct transfer probe;

  if (cancel_check == NULL)
    return true;
  snprintf (probe.id, sizeof probe.id, "%s", kept.id);
  return cancel_check (&probe);
}

int
backend_kept_tick (void)
{
  int idle_ms = backend_kept_idle_ms ();
  struct timespec now;
  int64_t check_ms;

  if (idle_ms == 0) {
    backend_drop_kept ();
    return -1;
  }
  if (idle_ms < 0)
    return -1;
  clock_gettime (CLOCK_MONOTONIC, &now);
  check_ms = KEPT_CHECK_MS - monotonic_ms_between (&kept.checked, &now);
  if (check_ms <= 0) {
    kept.checked = now;
    if (!kept_transfer_wanted ()) {
      backend_drop_kept ();
      return -1;
    }
    check_ms = KEPT_CHECK_MS;
  }
  return idle_ms < check_ms ? idle_ms : (int) check_ms;
}

/* An op failed: the backend is not kept for another request (its
 * connection may be broken).  Returns -1. */
static int
backend_failed (struct backend *b)
{
  b->failed = true;
  return -1;
}

/* Ask a capability once; errors are not cached so a later call may
 * succeed (a transient NBD failure, say). */
static int
backend_cached (struct backend *b, int *cache, int (*op) (struct backend *),
                int default_value)
{
  int r;

  if (*cache != -2)
    return *cache;
  r = op != NULL ? op (b) : default_value;
  if (r == -1)
    return backend_failed (b);
  *cache = r > 0;
  return *cache;
}

int
backend_can_write (struct backend *b)
{
  /* Whatever the op says, a backend opened read-only cannot write. */
  if (!b->writable)
    return 0;
  return backend_cached (b, &b->cached_can_write, b->ops->can_write, 1);
}

int
backend_can_zero (struct backend *b)
{
  return backend_cached (b, &b->cached_can_zero, b->ops->can_zero, 0);
}

int
backend_can_flush (struct backend *b)
{
  return backend_cached (b, &b->cached_can_flush, b->ops->can_flush, 0);
}

int
backend_can_extents (struct backend *b)
{
  return backend_cached (b, &b->cached_can_extents, b->ops->can_extents, 0);
}

int
backend_can_dirty (struct backend *b)
{
  return backend_cached (b, &b->cached_can_dirty, b->ops->can_dirty, 0);
}

static int
backend_check_range (struct backend *b, const char *what, uint64_t count,
                     uint64_t offset)
{
  if (!range_within (offset, count, b->size)) {
    error_set (ERANGE, "%s of %" PRIu64 " bytes at %" PRIu64 " is outside "
               "transfer %s (size %" PRIu64 ")", what, count, offset,
               b->transfer->id, b->size);
    return -1;
  }
  return 0;
}

static int
backend_check_writable (struct backend *b, const char *what)
{
  int r = backend_can_write (b);

  if (r == -1)
    return -1;
  if (r == 0) {
    error_set (EROFS, "%s: transfer %s is read-only", what, b->transfer->id);
    return -1;
  }
  return 0;
}

static uint64_t
min_u64 (uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

int
backend_pread (struct backend *b, void *buf, size_t count, uint64_t offset)
{
  char *p = buf;

  if (backend_check_range (b, "read", count, offset) == -1)
    return -1;
  while (count > 0) {
    size_t n = (size_t) min_u64 (count, b->max_request);

    if (b->ops->pread (b, p, n, offset) == -1)
      return backend_failed (b);
    p += n;
    count -= n;
    offset += n;
  }
  return 0;
}

int
backend_pwrite (struct backend *b, const void *buf, size_t count,
                uint64_t offset)
{
  const char *p = buf;

  if (backend_check_writable (b, "write") == -1
      || backend_check_range (b, "write", count, offset) == -1)
    return -1;
  while (count > 0) {
    size_t n = (size_t) min_u64 (count, b->max_request);

    if (b->ops->pwrite (b, p, n, offset) == -1)
      return backend_failed (b);
    p += n;
    count -= n;
    offset += n;
  }
  return 0;
}

/* A zero covers the whole range in one call, with no chunk between
 * steps for the request to look at the descriptor: each step does,
 * so that deleting it stops a long zero as it stops a long read. */
static int
zero_step_wanted (struct backend *b, uint64_t offset)
{
  if (backend_still_wanted (b))
    return 0;
  error_set (ECANCELED, "zero at offset %" PRIu64 ": transfer %s was "
             "cancelled", offset, b->transfer->id);
  return -1;
}

/* The default zero: write zero buffers.  One buffer per process,
 * allocated on first use and never written, so memory stays bounded
 * whatever the size zeroed. */
static int
backend_write_zeroes (struct backend *b, uint64_t count, uint64_t offset)
{
  static const char *zero_buffer;
  uint64_t step = min_u64 (ZERO_BUFFER_SIZE, b->max_request);

  if (zero_buffer == NULL) {
    zero_buffer = calloc (1, ZERO_BUFFER_SIZE);
    if (zero_buffer == NULL) {
      error_set (ENOMEM, "zero: cannot allocate a zero buffer");
      return -1;
    }
  }
  while (count > 0) {
    size_t n = (size_t) min_u64 (count, step);

    if (zero_step_wanted (b, offset) == -1)
      return -1;
    if (b->ops->pwrite (b, zero_buffer, n, offset) == -1)
      return backend_failed (b);
    count -= n;
    offset += n;
  }
  return 0;
}

/* ops->zero failing with ENOTSUP (== EOPNOTSUPP on Linux) means "no
 * efficient way for this range": the zero buffers are written instead,
 * so backends need no fallback of their own. */
int
backend_zero (struct backend *b, uint64_t count, uint64_t offset)
{
  bool may_trim = b->transfer->sparse;
  int can_zero;

  if (backend_check_writable (b, "zero") == -1
      || backend_check_range (b, "zero", count, offset) == -1)
    return -1;

  can_zero = b->ops->zero != NULL ? backend_can_zero (b) : 0;
  if (can_zero == -1)
    return -1;
  if (can_zero == 0)
    return backend_write_zeroes (b, count, offset);

  while (count > 0) {
    uint64_t n = min_u64 (count, b->max_request);

    if (zero_step_wanted (b, offset) == -1)
      return -1;
    if (b->ops->zero (b, n, offset, may_trim) == -1) {
      if (errno != ENOTSUP && errno != EOPNOTSUPP)
        return backend_failed (b);
      if (backend_write_zeroes (b, n, offset) == -1)
        return -1;
    }
    count -= n;
    offset += n;
  }
  return 0;
}

int
backend_flush (struct backend *b)
{
  int r;

  /* Flushing is part of writing: on a read-only export it is refused
   * like a write (403), not skipped as a success. */
  if (backend_check_writable (b, "flush") == -1)
    return -1;
  if (b->ops->flush == NULL)
    return 0;
  r = backend_can_flush (b);
  if (r <= 0)
    return r;
  if (b->ops->flush (b) == -1)
    return backend_failed (b);
  return 0;
}

/* Call ops->extents until [offset, offset+count) is covered, or once
 * unless whole.  Each step lands in a scratch list first, so what the op
 * returned can be checked and extra_flags OR-ed in without touching what
 * list held before.  *described: the end of what was described. */
static int
backend_extents_loop (struct backend *b, enum extents_context context,
                      uint64_t count, uint64_t offset, unsigned extra_flags,
                      bool whole, struct extent_list *list,
                      uint64_t *described)
{
  struct extent_list step;
  uint64_t end = offset + count;
  int ret = -1;

  extent_list_init (&step);
  while (offset < end) {
    uint64_t n = min_u64 (end - offset, EXTENTS_STEP);
    uint64_t step_end;
    size_t i;

    extent_list_clear (&step);
    if (b->ops->extents (b, context, n, offset, &step) == -1) {
      backend_failed (b);
      goto out;
    }
    if (step.count == 0 || step.items[0].start != offset
        || extent_list_end (&step) <= offset
        || extent_list_end (&step) > offset + n) {
      error_set (EIO, "extents: the %s backend answered [%" PRIu64 ", %"
                 PRIu64 ") for [%" PRIu64 ", %" PRIu64 ")", b->transfer->type->name,
                 step.count ? step.items[0].start : 0, extent_list_end (&step),
                 offset, offset + n);
      goto out;
    }
    for (i = 0; i < step.count; i++) {
      if (extent_list_append (list, step.items[i].start, step.items[i].length,
                              step.items[i].flags | extra_flags) == -1)
        goto out;
    }
    step_end = extent_list_end (&step);
    offset = step_end;
    if (!whole)
      break;
  }
  *described = offset;
  ret = 0;
 out:
  extent_list_free (&step);
  return ret;
}

static int
backend_extents_some (struct backend *b, enum extents_context context,
                      uint64_t count, uint64_t offset, bool whole,
                      struct extent_list *list, uint64_t *described)
{
  unsigned extra_flags = 0;
  int r;

  *described = offset;
  if (backend_check_range (b, "extents", count, offset) == -1)
    return -1;

  if (context == EXTENTS_CONTEXT_DIRTY) {
    if (b->ops->can_dirty == NULL) {
      error_set (ENOTSUP, "extents: transfer %s: the %s backend has no "
                 "dirty bitmaps", b->transfer->id, b->transfer->type->name);
      return -1;
    }
    r = backend_can_dirty (b);
    if (r == -1)
      return -1;
    if (r == 0) {
      /* No bitmap: everything may have changed. */
      context = EXTENTS_CONTEXT_ZERO;
      extra_flags = EXTENT_DIRTY;
    }
  }
  if (count == 0)
    return 0;

  r = b->ops->extents != NULL ? backend_can_extents (b) : 0;
  if (r == -1)
    return -1;
  if (r == 0) {
    /* Knowing nothing, everything is data (and, asked about a bitmap,
     * dirty). */
    if (context == EXTENTS_CONTEXT_DIRTY)
      extra_flags = EXTENT_DIRTY;
    if (extent_list_append (list, offset, count, extra_flags) == -1)
      return -1;
    *described = offset + count;
    return 0;
  }
  return backend_extents_loop (b, context, count, offset, extra_flags, whole,
                               list, described);
}

int
backend_extents (struct backend *b, enum extents_context context,
                 uint64_t count, uint64_t offset, struct extent_list *list)
{
  uint64_t described;

  return backend_extents_some (b, context, count, offset, true, list,
                               &described);
}

int
backend_extents_part (struct backend *b, enum extents_context context,
                      uint64_t count, uint64_t offset,
                      struct extent_list *list, uint64_t *described)
{
  return backend_extents_some (b, context, count, offset, false, list,
                               described);
}

int
backend_data_fd (struct backend *b, uint64_t *base_offset)
{
  if (b->ops->data_fd == NULL)
    return -1;
  return b->ops->data_fd (b, base_offset);
}

const char *
backend_data_path (struct backend *b)
{
  if (b->ops->data_path == NULL)
    return NULL;
  return b->ops->data_path (b);
}
