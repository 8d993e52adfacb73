/* SPDX-License-Identifier: Apache-2.0 */
/* The backend abstraction: where a transfer's bytes live.
 *
 * A backend is a const ops table (one per kind, found through the
 * registry, backend-registry.h).  The concrete
 * backend struct embeds struct backend as its first member, as nbdkit's
 * plugins and nbdcopy's rw do.  Offsets given to the ops are relative to
 * the transfer (the file backend adds its window offset itself) and have
 * been checked against the transfer size by backend.c before any op runs.
 *
 * Capabilities are can_* calls returning 1 (yes), 0 (no) or -1 (error),
 * asked at most once per open and cached by backend.c.  A NULL op gets a
 * sensible default there: no can_* means 0 (can_write: writable if opened
 * writable), no zero means "write zero buffers", no flush means "nothing
 * to flush", no extents means "all data".
 */
#ifndef IMAGEXFER_BACKEND_H
#define IMAGEXFER_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extents.h"
#include "transfer.h"

struct backend;

struct backend_ops {
  /* Open the transfer's location.  writable: the request may write.
   * Returns a new backend (allocated by the op, freed by close) with
   * size set to the backend's own size, or NULL with error_set:
   *   ENOENT/EACCES/...: the location is missing (500 to clients),
   *   ECONNREFUSED/EAGAIN: temporarily unreachable (503). */
  struct backend *(*open) (const struct transfer *t, bool writable);
  void (*close) (struct backend *b);

  int (*can_write) (struct backend *b);
  int (*can_zero) (struct backend *b);
  int (*can_flush) (struct backend *b);
  int (*can_extents) (struct backend *b);
  int (*can_dirty) (struct backend *b);  /* a dirty bitmap is available */

  /* Whole-buffer I/O: no short reads/writes.  count <= max_request. */
  int (*pread) (struct backend *b, void *buf, size_t count, uint64_t offset);
  int (*pwrite) (struct backend *b, const void *buf, size_t count,
                 uint64_t offset);
  /* Make [offset, offset+count) read as zeroes.  may_trim: deallocating
   * is allowed (transfer's sparse).  count <= max_request. */
  int (*zero) (struct backend *b, uint64_t count, uint64_t offset,
               bool may_trim);
  int (*flush) (struct backend *b);

  /* Append extents of context describing [offset, offset+count) to list,
   * in order.  May describe less than asked (at least one byte) but never
   * more than asked; backend.c loops. */
  int (*extents) (struct backend *b, enum extents_context context,
                  uint64_t count, uint64_t offset, struct extent_list *list);

  /* Optional: an fd and base offset for zero-copy downloads (sendfile),
   * or -1 when the backend has none. */
  int (*data_fd) (struct backend *b, uint64_t *base_offset);
  /* Optional: the path of the file data_fd reads when it is a regular
   * file (not a block device), for handing a range to the web server
   * (X-Sendfile), or NULL.  Valid until the next call or the close;
   * may look at the file system (file backend: every link resolved). */
  const char *(*data_path) (struct backend *b);

  /* Optional, together: keeping a backend open between requests of the
   * same transfer (backend_release), for backends whose open is costly
   * (a connection and a handshake).  can_keep: true when b, just used by
   * a request that went well, may wait for the next one; reuse: true when
   * the kept b still works and can serve t (the next request's copy of
   * the same descriptor; the backend takes its pointers from it). */
  bool (*can_keep) (struct backend *b);
  bool (*reuse) (struct backend *b, const struct transfer *t);

  /* Optional: the block checksum of [0, size) (checksum.h) from the
   * backend itself, when it can give it without our reading the data
   * (a remote imagexfer or ImageIO computes its own).  1 with hex_out
   * filled in, 0 when it cannot (computed by reading), -1 with
   * error_set. */
  int (*checksum) (struct backend *b, const char *algorithm,
                   uint64_t block_size, char *hex_out);
};

struct backend {
  const struct backend_ops *ops;
  const struct transfer *transfer;  /* not owned; outlives the backend */
  uint64_t size;                    /* the transfer's size (after clipping) */
  uint64_t max_request;             /* largest single pread/pwrite/zero */
  bool writable;                    /* opened for writing */
  uint64_t own_size;                /* the backend's size, before clipping */
  bool failed;                      /* an op failed: never kept */
  atomic_bool abandoned;            /* backend_set_abandoned */
  int client_fd;                    /* backend_watch_client; -1: none */
  bool client_gone;                 /* backend_client_gone saw it */
  /* Cached capabilities: -2 = not asked yet. */
  int cached_can_write, cached_can_zero, cached_can_flush;
  int cached_can_extents, cached_can_dirty;
};

/* How long a remote backend (NBD) may stay silent on one request before
 * it fails with ETIMEDOUT (config backend_timeout; default 60 s). */
void backend_set_timeout (unsigned seconds);
unsigned backend_timeout (void);

/* Whether file backends write large aligned ranges around the page cache
 * (config direct_writes; default yes; backend-file-direct.c). */
void backend_set_direct_writes (bool direct);
bool backend_direct_writes (void);

/* Whether the request's transfer is still wanted (its descriptor not
 * deleted), for backends whose one operation can wait long on a network
 * (http, NBD) and must stop within a second of a cancel.  The program serving
 * requests sets the check (the worker: the spool file is still there);
 * without one, every transfer is wanted. */
void backend_set_cancel_check (bool (*still_wanted) (const struct transfer *));
bool backend_still_wanted (const struct backend *b);

/* A download that ended early (the transfer cancelled, the client gone)
 * abandons the read its backend thread is in: backend_set_abandoned
 * (b, true), from any thread, asks that read to stop between the pieces
 * it is made of.  The NBD backend sends no new command, waits for those
 * in flight (the buffer is the caller's until they are answered), at
 * most about a second, after which it closes the connection so nothing
 * can land in the buffer any more, and fails with ECANCELED; the http
 * backend stops its transfer at the next progress callback (ECANCELED);
 * a file is read in one pread, which ends as it would.  The caller
 * clears the flag once the read returned.  An abandoned read is a failed
 * op: the backend is not kept for another request (that request is cut
 * anyway; nothing is gained by trusting its connection).
 * backend_abandoned is for the ops: one relaxed load per piece. */
void backend_set_abandoned (struct backend *b, bool abandoned);
static inline bool
backend_abandoned (struct backend *b)
{
  return atomic_load_explicit (&b->abandoned, memory_order_relaxed)
         || b->client_gone;
}

/* A read whose server is silent writes nothing to the client, so the
 * client going away would only be noticed when the data comes, or at
 * backend_timeout.  backend_watch_client (b, fd) names the request's
 * connection from the web server (-1: none); while a remote backend
 * waits on a silent server it calls backend_client_gone as often as the
 * cancel check, and once the web server has closed that connection, or
 * shut it for writing, the op stops as an abandoned one
 * (backend_abandoned is then true), until the watch is set again.  A web
 * server has sent the whole request before a read starts and never
 * shuts its side of a FastCGI connection for anything but its client:
 * nginx closes it when the client closes, lighttpd with
 * "tcp-fin-propagate" shuts it when the client's FIN comes (it cannot
 * tell a close from a half-close; nginx takes both for a close too).
 * Only reads are watched: what an upload received is still written. */
void backend_watch_client (struct backend *b, int fd);
bool backend_client_gone (struct backend *b);


/* Open t's backend.  Sets size: the backend's size clipped to the
 * descriptor's size when it has one (a descriptor size larger than the
 * backend is an error: EINVAL "size ... larger than ..."). */
struct backend *backend_open (const struct transfer *t, bool writable);
void backend_close (struct backend *b);

/* The end of a request that went well: b is kept open for the next
 * request of the same transfer in this process when its backend can
 * (ops->can_keep), else closed.  One backend is kept at a time; it is
 * given back by backend_open for the same descriptor (the same spool
 * file, unchanged) and the same access, and closed when another is kept,
 * by backend_drop_kept, or by backend_kept_tick once idle for the keep
 * time (config backend_keep_seconds; default 30 s) or once the transfer
 * is cancelled. */
void backend_release (struct backend *b);
void backend_set_keep_seconds (unsigned seconds);
/* Close the kept backend now (idle, or the process is stopping). */
void backend_drop_kept (void);
/* Milliseconds until the kept backend has been idle for the keep time
 * (0: now), or -1 when none is kept. */
int backend_kept_idle_ms (void);
/* Between requests: close the kept backend once it has been idle for
 * the keep time, or once its transfer is no longer wanted (the cancel
 * check, backend_set_cancel_check, asked at most once a second).
 * Returns the milliseconds until it needs another look (a timeout for
 * the wait for the next request), or -1 when nothing is kept. */
int backend_kept_tick (void);

int backend_can_write (struct backend *b);
int backend_can_zero (struct backend *b);
int backend_can_flush (struct backend *b);
int backend_can_extents (struct backend *b);
int backend_can_dirty (struct backend *b);

/* Checked wrappers: [offset, offset+count) must lie within b->size (else
 * ERANGE); large requests are split at max_request; writes on a backend
 * that cannot write fail with EROFS. */
int backend_pread (struct backend *b, void *buf, size_t count,
                   uint64_t offset);
int backend_pwrite (struct backend *b, const void *buf, size_t count,
                    uint64_t offset);
int backend_zero (struct backend *b, uint64_t count, uint64_t offset);
int backend_flush (struct backend *b);

/* Extents for [offset, offset+count), complete and merged, appended to
 * list.  DIRTY on a backend whose ops have no can_dirty (files): -1 with
 * ENOTSUP (the route answers 404).  DIRTY when can_dirty is 0 (an NBD
 * export without a bitmap): allocation extents all marked dirty.  Callers wanting bounded memory ask for large steps
 * (e.g. 1 GiB..64 GiB) and emit each step before the next. */
int backend_extents (struct backend *b, enum extents_context context,
                     uint64_t count, uint64_t offset,
                     struct extent_list *list);
/* The same, but one call of the backend: describes [offset, *described),
 * at least one byte and at most count, as much as the backend answers at
 * once (bounded by the backend, whatever count is: the NBD backend keeps
 * several block status commands in flight, the file backend stops after
 * a number of extents).  For walking a large range with bounded memory,
 * emitting each part before asking the next. */
int backend_extents_part (struct backend *b, enum extents_context context,
                          uint64_t count, uint64_t offset,
                          struct extent_list *list, uint64_t *described);

int backend_data_fd (struct backend *b, uint64_t *base_offset);
const char *backend_data_path (struct backend *b);

#endif
