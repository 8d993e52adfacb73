/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pipeline.h"

#define PIPELINE_SLOTS 2

enum slot_state { SLOT_EMPTY, SLOT_FULL };

struct slot {
  char *buffer;
  size_t length;
  enum slot_state state;
};

struct pipeline {
  struct backend *backend;
  bool backend_reads;           /* download: the thread reads the backend */
  uint64_t offset;              /* next backend offset of the thread */
  uint64_t remaining;           /* download: bytes the thread still reads */
  size_t chunk;

  bool threaded;                /* false: one chunk, done inline */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct slot slots[PIPELINE_SLOTS];
  unsigned thread_index, request_index;
  bool handed_out;              /* download: the request holds a slot */
  bool stop;

  /* The backend's failure, kept for the request's thread. */
  bool failed;
  uint64_t failed_offset;       /* start of the chunk that failed */
  int failed_errno;
  char failed_message[512];
};

/* In the backend thread, under the lock: remember the error error_set
 * recorded in this thread, for the request's thread. */
static void
record_failure (struct pipeline *p)
{
  p->failed = true;
  p->failed_offset = p->offset;
  p->failed_errno = error_errno () ? error_errno () : EIO;
  snprintf (p->failed_message, sizeof p->failed_message, "%s",
            error_message ());
}

/* In the request's thread: the backend's failure as our own error. */
static void
report_failure (const struct pipeline *p)
{
  error_set (p->failed_errno, "%s", p->failed_message);
}

static void
read_ahead (struct pipeline *p)
{
  pthread_mutex_lock (&p->lock);
  while (p->remaining > 0 && !p->stop) {
    struct slot *slot = &p->slots[p->thread_index % PIPELINE_SLOTS];
    size_t n = p->remaining < p->chunk ? (size_t) p->remaining : p->chunk;
    int r;

    if (slot->state != SLOT_EMPTY) {
      pthread_cond_wait (&p->changed, &p->lock);
      continue;
    }
    pthread_mutex_unlock (&p->lock);
    r = backend_pread (p->backend, slot->buffer, n, p->offset);
    pthread_mutex_lock (&p->lock);
    if (r == -1) {
      /* Once stopped, the read was abandoned (pipeline_abandon,
       * pipeline_finish): the chunk is no longer wanted, whatever
       * ended it. */
      if (!p->stop)
        record_failure (p);
      break;
    }
    slot->length = n;
    slot->state = SLOT_FULL;
    p->offset += n;
    p->remaining -= n;
    p->thread_index++;
    pthread_cond_broadcast (&p->changed);
  }
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
}

static void
write_behind (struct pipeline *p)
{
  pthread_mutex_lock (&p->lock);
  for (;;) {
    struct slot *slot = &p->slots[p->thread_index % PIPELINE_SLOTS];
    int r;

    if (slot->state != SLOT_FULL) {
      if (p->stop)
        break;
      pthread_cond_wait (&p->changed, &p->lock);
      continue;
    }
    pthread_mutex_unlock (&p->lock);
    r = backend_pwrite (p->backend, slot->buffer, slot->length, p->offset);
    pthread_mutex_lock (&p->lock);
    if (r == -1) {
      record_failure (p);
      break;
    }
    p->offset += slot->length;
    slot->state = SLOT_EMPTY;
    p->thread_index++;
    pthread_cond_broadcast (&p->changed);
  }
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
}

static void *
backend_thread (void *arg)
{
  struct pipeline *p = arg;

  if (p->backend_reads)
    read_ahead (p);
  else
    write_behind (p);
  return NULL;
}

/* Two chunk buffers per worker, allocated once and kept. */
static int
slot_buffers (struct pipeline *p)
{
  static char *buffers[PIPELINE_SLOTS];
  static size_t buffer_size;

  if (buffer_size != p->chunk) {
    for (size_t i = 0; i < PIPELINE_SLOTS; i++) {
      free (buffers[i]);
      buffers[i] = NULL;
    }
    buffer_size = 0;
    for (size_t i = 0; i < PIPELINE_SLOTS; i++) {
      void *buffer;
      if (posix_memalign (&buffer, 4096, p->chunk) != 0) {
        error_set (ENOMEM, "cannot allocate %zu byte buffers", p->chunk);
        return -1;
      }
      buffers[i] = buffer;
    }
    buffer_size = p->chunk;
  }
  for (size_t i = 0; i < PIPELINE_SLOTS; i++)
    p->slots[i].buffer = buffers[i];
  return 0;
}

/* A request of one chunk has nothing to overlap: it is served inline,
 * without the cost of a thread (small ranged reads are the common case
 * of random-access clients). */
static struct pipeline *
pipeline_start (struct backend *b, bool backend_reads, uint64_t offset,
                uint64_t length, size_t chunk)
{
  struct pipeline *p = calloc (1, sizeof *p);
  int r;

  if (!p) {
    error_set (ENOMEM, "out of memory");
    return NULL;
  }
  p->backend = b;
  p->backend_reads = backend_reads;
  p->offset = offset;
  p->remaining = length;
  p->chunk = chunk;
  if (slot_buffers (p) == -1) {
    free (p);
    return NULL;
  }
  p->threaded = length > chunk;
  if (!p->threaded)
    return p;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->changed, NULL);
  r = pthread_create (&p->thread, NULL, backend_thread, p);
  if (r != 0) {
    error_set (r, "cannot start the backend thread");
    pthread_cond_destroy (&p->changed);
    pthread_mutex_destroy (&p->lock);
    free (p);
    return NULL;
  }
  return p;
}

struct pipeline *
pipeline_start_read (struct backend *b, uint64_t offset, uint64_t length,
                     size_t chunk)
{
  return pipeline_start (b, true, offset, length, chunk);
}

struct pipeline *
pipeline_start_write (struct backend *b, uint64_t offset, uint64_t length,
                      size_t chunk)
{
  return pipeline_start (b, false, offset, length, chunk);
}

/* The inline forms of the calls below, for one-chunk requests. */
static const void *
read_inline (struct pipeline *p, size_t *length)
{
  struct slot *slot = &p->slots[0];
  size_t n = p->remaining < p->chunk ? (size_t) p->remaining : p->chunk;

  if (backend_pread (p->backend, slot->buffer, n, p->offset) == -1) {
    /* Kept for pipeline_finish, as the thread would: it reports the
     * failure and its offset the same way for both forms. */
    record_failure (p);
    return NULL;
  }
  p->offset += n;
  p->remaining -= n;
  *length = n;
  return slot->buffer;
}

static void
write_inline (struct pipeline *p, size_t length)
{
  if (p->failed)
    return;
  if (backend_pwrite (p->backend, p->slots[0].buffer, length, p->offset)
      == -1)
    record_failure (p);
  else
    p->offset += length;
}

const void *
pipeline_next_chunk (struct pipeline *p, size_t *length)
{
  struct slot *slot;

  if (!p->threaded)
    return read_inline (p, length);
  pthread_mutex_lock (&p->lock);
  if (p->handed_out) {
    p->slots[p->request_index % PIPELINE_SLOTS].state = SLOT_EMPTY;
    p->request_index++;
    p->handed_out = false;
    pthread_cond_broadcast (&p->changed);
  }
  slot = &p->slots[p->request_index % PIPELINE_SLOTS];
  while (slot->state != SLOT_FULL && !p->failed)
    pthread_cond_wait (&p->changed, &p->lock);
  if (slot->state != SLOT_FULL) {
    report_failure (p);
    pthread_mutex_unlock (&p->lock);
    return NULL;
  }
  p->handed_out = true;
  *length = slot->length;
  pthread_mutex_unlock (&p->lock);
  return slot->buffer;
}

void *
pipeline_free_buffer (struct pipeline *p)
{
  struct slot *slot;

  if (!p->threaded) {
    if (p->failed) {
      report_failure (p);
      return NULL;
    }
    return p->slots[0].buffer;
  }
  pthread_mutex_lock (&p->lock);
  slot = &p->slots[p->request_index % PIPELINE_SLOTS];
  while (slot->state != SLOT_EMPTY && !p->failed)
    pthread_cond_wait (&p->changed, &p->lock);
  if (p->failed) {
    report_failure (p);
    pthread_mutex_unlock (&p->lock);
    return NULL;
  }
  pthread_mutex_unlock (&p->lock);
  return slot->buffer;
}

void
pipeline_submit (struct pipeline *p, size_t length)
{
  struct slot *slot;

  if (!p->threaded) {
    write_inline (p, length);
    return;
  }
  pthread_mutex_lock (&p->lock);
  slot = &p->slots[p->request_index % PIPELINE_SLOTS];
  slot->length = length;
  slot->state = SLOT_FULL;
  p->request_index++;
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
}

/* Tell the backend thread to stop.  A reader stops in the middle of its
 * chunk (a download that ended early wants none of it); a writer drains
 * what was submitted before it sees stop. */
static void
pipeline_stop (struct pipeline *p)
{
  pthread_mutex_lock (&p->lock);
  p->stop = true;
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
  if (p->backend_reads)
    backend_set_abandoned (p->backend, true);
}

void
pipeline_abandon (struct pipeline *p)
{
  if (p->threaded && p->backend_reads)
    pipeline_stop (p);
}

int
pipeline_finish (struct pipeline *p, uint64_t *failed_offset)
{
  bool failed;

  if (p->threaded) {
    pipeline_stop (p);
    pthread_join (p->thread, NULL);
    if (p->backend_reads)
      backend_set_abandoned (p->backend, false);
  }

  failed = p->failed;
  if (failed) {
    report_failure (p);
    if (failed_offset)
      *failed_offset = p->failed_offset;
  }
  if (p->threaded) {
    pthread_cond_destroy (&p->changed);
    pthread_mutex_destroy (&p->lock);
  }
  free (p);
  return failed ? -1 : 0;
}
