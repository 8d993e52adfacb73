/* The NBD backend: an export of qemu-nbd, nbdkit or qemu itself, through
 * libnbd.
 *
 * One libnbd handle per open.  The handshake always runs in option mode,
 * so a failure to reach the server (503 to clients: retry later) is told
 * apart from a server that answers but refuses the export (500).
 *
 * Meta contexts: "base:allocation" (zero), "qemu:allocation-depth"
 * (hole: depth 0, no layer of the exported chain has the data; ImageIO
 * exports one layer with its backing cut off, where that is what the
 * backing chain provides) and
 * one "qemu:dirty-bitmap:NAME" for context=dirty.  The bitmap is the one
 * the descriptor names (CloudStack export_bitmap), or with "dirty": true
 * (ImageIO) the single one the server lists.  libnbd 1.14 has no
 * nbd_opt_list_meta_context_queries nor nbd_opt_set_meta_context (both
 * 1.16): the queries of nbd_opt_list_meta_context are the contexts added
 * with nbd_add_meta_context, so the list is cleared and rebuilt around
 * the listing.
 *
 * Large reads and writes are cut in pieces sent together with the async
 * API and waited for as a group, as nbdcopy does: one round trip per
 * request instead of one per piece.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnbd.h>

#include "backend.h"
#include "error.h"
#include "log.h"

/* libnbd (1.14) refuses requests over 64 MiB; servers may advertise
 * less, which wins. */
#define NBD_MAX_REQUEST (32u * 1024 * 1024)

/* Pipelining: a request is cut in at most NBD_MAX_PIECES pieces of at
 * least NBD_MIN_PIECE bytes (smaller requests go as one command). */
#define NBD_MAX_PIECES 8
#define NBD_MIN_PIECE (512u * 1024)

/* Block status: the NBD request length is 32 bits.  Ask for as much as
 * fits, rounded to 1 MiB so every step but the last stays aligned. */
#define NBD_EXTENTS_MAX (UINT64_C (4) * 1024 * 1024 * 1024 - 1024 * 1024)

#define CONTEXT_ALLOCATION "base:allocation"
#define CONTEXT_DEPTH "qemu:allocation-depth"
#define CONTEXT_BITMAP_PREFIX "qemu:dirty-bitmap:"

/* The qemu:dirty-bitmap context has a single flag. */
#define NBD_STATE_DIRTY 1u

struct bitmap_listing {
  char *name;                   /* the first bitmap listed */
  unsigned count;
};

struct nbd_backend;

/* One command of a pipelined request.  Lives in the backend, not on the
 * stack: libnbd calls the completion callback exactly once, possibly as
 * late as nbd_close when the connection died. */
struct nbd_piece {
  struct nbd_backend *nb;
  uint64_t offset;
  bool done;
  int error;
};

struct nbd_backend {
  struct backend backend;       /* must be first */
  struct nbd_handle *nbd;
  const char *id;               /* the transfer's id, for logs */
  char *bitmap_context;         /* negotiated bitmap context, or NULL */
  bool has_allocation;
  bool has_depth;
  bool timed_out;               /* the server stopped answering */

  struct nbd_piece pieces[NBD_MAX_PIECES];
  /* The single command or option a non-pipelined call waits for (here,
   * not on the stack: libnbd may complete it as late as nbd_close). */
  struct nbd_piece waiting;
  struct bitmap_listing *listing; /* during nbd_backend_find_bitmap */

  /* Block status answers, one list per context (reused). */
  struct extent_list allocation, depth, bitmap;
};

static struct nbd_backend *
to_nbd (struct backend *b)
{
  return (struct nbd_backend *) b;
}

/* libnbd's errno for the last failed call, never 0. */
static int
nbd_backend_errno (void)
{
  int e = nbd_get_errno ();

  return e != 0 ? e : EIO;
}

/* A data operation failed: the message for the client names the
 * operation and the offset; libnbd's own text (which may name the socket)
 * goes to the log only. */
static int
nbd_backend_op_failed (struct nbd_backend *nb, int errnum, const char *what,
                       uint64_t offset, const char *detail)
{
  /* A connection that died (server killed, socket closed) is the server
   * being down, as on connect (503), not libnbd's "invalid state"
   * EINVAL, which would read as the client's fault (400).  A request
   * reaching here was checked already: any other EINVAL is the server's
   * doing (500). */
  if (errnum == ETIMEDOUT) {
    error_set (ETIMEDOUT, "%s at offset %" PRIu64 ": the NBD server did not "
               "answer in %u s", what, offset, backend_timeout ());
    return -1;
  }
  if (nbd_aio_is_dead (nb->nbd) == 1 || nbd_aio_is_closed (nb->nbd) == 1
      || nb->timed_out)
    errnum = ENOTCONN;
  else if (errnum == EINVAL)
    errnum = EIO;
  if (detail != NULL)
    log_error ("%s: transfer %s: nbd %s at offset %" PRIu64 ": %s",
               what, nb->id, what, offset, detail);
  error_set (errnum, "%s at offset %" PRIu64 ": %s", what, offset,
             strerror (errnum));
  return -1;
}

/* A synchronous libnbd call failed. */
static int
nbd_backend_failed (struct nbd_backend *nb, const char *what, uint64_t offset)
{
  return nbd_backend_op_failed (nb, nbd_backend_errno (), what, offset,
                                nbd_get_error ());
}

/* Poll the handle until done (arg) says the awaited answer came.  A
 * server that says nothing for backend_timeout () seconds fails the call
 * with ETIMEDOUT (503): a stopped or hung server must not hold a worker
 * forever.  Any answer restarts the clock, so a slow server that keeps
 * answering is waited for.  Returns 0, or -1 with errno. */
static int
nbd_backend_poll_until (struct nbd_backend *nb, bool (*done) (void *),
                        void *arg)
{
  time_t silent_since = time (NULL);

  while (!done (arg)) {
    int r = nbd_poll (nb->nbd, 1000);

    if (r == -1) {
      errno = nbd_backend_errno ();
      return -1;
    }
    if (r > 0)
      silent_since = time (NULL);
    else if (time (NULL) - silent_since >= (time_t) backend_timeout ()) {
      nb->timed_out = true;
      errno = ETIMEDOUT;
      return -1;
    }
  }
  return 0;
}

static bool
piece_is_done (void *arg)
{
  return ((const struct nbd_piece *) arg)->done;
}

static int
nbd_backend_piece_done (void *opaque, int *error)
{
  struct nbd_piece *piece = opaque;

  piece->error = *error;
  piece->done = true;
  return 1;                     /* retire the command */
}

/* A fresh completion for the one thing a call waits for. */
static nbd_completion_callback
nbd_backend_expect (struct nbd_backend *nb, uint64_t offset)
{
  nbd_completion_callback done = {
    .callback = nbd_backend_piece_done, .user_data = &nb->waiting,
  };

  nb->waiting.nb = nb;
  nb->waiting.offset = offset;
  nb->waiting.done = false;
  nb->waiting.error = 0;
  return done;
}

/* Send-and-wait of one command: cookie is what the aio call returned. */
static int
nbd_backend_await (struct nbd_backend *nb, int64_t cookie, const char *what,
                   uint64_t offset)
{
  if (cookie == -1)
    return nbd_backend_failed (nb, what, offset);
  if (nbd_backend_poll_until (nb, piece_is_done, &nb->waiting) == -1)
    return nbd_backend_op_failed (nb, errno, what, offset,
                                  errno == ETIMEDOUT ? NULL
                                                     : nbd_get_error ());
  if (nb->waiting.error != 0)
    return nbd_backend_op_failed (nb, nb->waiting.error, what, offset, NULL);
  return 0;
}

/* The server's location for messages: socket path or host:port. */
static void
nbd_backend_location (const struct transfer *t, char *buf, size_t size)
{
  if (t->socket != NULL)
    snprintf (buf, size, "%s", t->socket);
  else
    snprintf (buf, size, "%s:%s", t->host ? t->host : "",
              t->port ? t->port : "10809");
}

static int
nbd_backend_list_bitmap (void *opaque, const char *name)
{
  struct nbd_backend *nb = opaque;
  struct bitmap_listing *listing = nb->listing;

  if (listing == NULL)
    return 0;
  if (strncmp (name, CONTEXT_BITMAP_PREFIX,
               strlen (CONTEXT_BITMAP_PREFIX)) != 0
      || name[strlen (CONTEXT_BITMAP_PREFIX)] == '\0')
    return 0;
  listing->count++;
  if (listing->name == NULL)
    listing->name = strdup (name);
  return 0;
}

/* ImageIO's "dirty": true: find the single bitmap the server offers.
 * Returns its context name (malloc'd) or NULL when there is none, or
 * more than one, or the server cannot list (then context=dirty answers
 * "all dirty": a full backup is the safe answer). */
static char *
nbd_backend_find_bitmap (struct nbd_backend *nb)
{
  struct bitmap_listing listing = { .name = NULL, .count = 0 };
  nbd_context_callback callback = {
    .callback = nbd_backend_list_bitmap, .user_data = nb,
  };

  nb->listing = &listing;
  if (nbd_clear_meta_contexts (nb->nbd) == -1
      || nbd_add_meta_context (nb->nbd, CONTEXT_BITMAP_PREFIX) == -1
      || nbd_aio_opt_list_meta_context (nb->nbd, callback,
                                        nbd_backend_expect (nb, 0)) == -1
      || nbd_backend_poll_until (nb, piece_is_done, &nb->waiting) == -1
      || nb->waiting.error != 0) {
    /* A late answer after a timeout must not land in this frame. */
    nb->listing = NULL;
    log_warning ("open: transfer %s: cannot list the server's dirty "
                 "bitmaps: %s", nb->id,
                 nb->timed_out ? "no answer" : nbd_get_error ());
    free (listing.name);
    return NULL;
  }
  nb->listing = NULL;
  if (listing.count != 1) {
    log_warning ("open: transfer %s: the server offers %u dirty bitmaps, "
                 "not one: context=dirty will report everything dirty",
                 nb->id, listing.count);
    free (listing.name);
    return NULL;
  }
  return listing.name;
}

/* Ask for the contexts we can use; what the server refuses is simply not
 * negotiated (nbd_can_meta_context says what was). */
static int
nbd_backend_request_contexts (struct nbd_backend *nb,
                              const char *bitmap_context)
{
  if (nbd_clear_meta_contexts (nb->nbd) == -1
      || nbd_add_meta_context (nb->nbd, CONTEXT_ALLOCATION) == -1
      || nbd_add_meta_context (nb->nbd, CONTEXT_DEPTH) == -1
      || (bitmap_context != NULL
          && nbd_add_meta_context (nb->nbd, bitmap_context) == -1))
    return -1;
  return 0;
}

static bool
handle_connected (void *arg)
{
  struct nbd_handle *nbd = arg;

  return nbd_aio_is_connecting (nbd) != 1;
}

static bool
handle_finished (void *arg)
{
  struct nbd_handle *nbd = arg;

  return nbd_aio_is_closed (nbd) == 1 || nbd_aio_is_dead (nbd) == 1;
}

/* Connect and wait, bounded, for the server's greeting: a server that
 * accepts connections but never answers (stopped) must not hang us. */
static int
nbd_backend_connect_transfer (struct nbd_backend *nb,
                              const struct transfer *t)
{
  int r;

  if (t->socket != NULL)
    r = nbd_aio_connect_unix (nb->nbd, t->socket);
  else if (t->host != NULL)
    r = nbd_aio_connect_tcp (nb->nbd, t->host, t->port ? t->port : "10809");
  else {
    error_set (EINVAL, "transfer %s: nbd backend without socket or host",
               t->id);
    return -2;
  }
  if (r == -1)
    return -1;
  if (nbd_backend_poll_until (nb, handle_connected, nb->nbd) == -1)
    return -1;
  if (nbd_aio_is_dead (nb->nbd) == 1 || nbd_aio_is_closed (nb->nbd) == 1) {
    errno = nbd_backend_errno ();
    return -1;
  }
  return 0;
}

/* NBD_OPT_GO, bounded.  Returns 0 or -1 with errno. */
static int
nbd_backend_opt_go (struct nbd_backend *nb)
{
  if (nbd_aio_opt_go (nb->nbd, nbd_backend_expect (nb, 0)) == -1) {
    errno = nbd_backend_errno ();
    return -1;
  }
  if (nbd_backend_poll_until (nb, piece_is_done, &nb->waiting) == -1)
    return -1;
  if (nb->waiting.error != 0 || nbd_aio_is_ready (nb->nbd) != 1) {
    errno = nb->waiting.error ? nb->waiting.error : nbd_backend_errno ();
    return -1;
  }
  return 0;
}

/* Connect, choose the contexts, enter transmission.  Returns 0 or -1
 * with error_set. */
static int
nbd_backend_negotiate (struct nbd_backend *nb, const struct transfer *t)
{
  char location[512];
  char *bitmap_context = NULL;
  int r, e;

  nbd_backend_location (t, location, sizeof location);
  if (nbd_set_export_name (nb->nbd,
                           t->export_name ? t->export_name : "") == -1
      || nbd_set_opt_mode (nb->nbd, true) == -1) {
    error_set (nbd_backend_errno (), "nbd: %s", nbd_get_error ());
    return -1;
  }

  r = nbd_backend_connect_transfer (nb, t);
  if (r == -2)
    return -1;
  if (r == -1) {
    /* Nobody listening, no socket at all, or a server that does not
     * answer: down, which the client may retry (503). */
    e = nb->timed_out ? ETIMEDOUT : nbd_backend_errno ();
    if (e == ENOENT)
      e = ECONNREFUSED;
    if (e == ETIMEDOUT)
      error_set (e, "NBD server at %s did not answer in %u s", location,
                 backend_timeout ());
    else
      error_set (e, "cannot connect to NBD server at %s: %s", location,
                 nbd_get_error ());
    return -1;
  }

  if (t->export_bitmap != NULL) {
    if (asprintf (&bitmap_context, "%s%s", CONTEXT_BITMAP_PREFIX,
                  t->export_bitmap) == -1) {
      error_set (ENOMEM, "nbd: asprintf");
      return -1;
    }
  }
  else if (t->dirty && nbd_aio_is_negotiating (nb->nbd) == 1) {
    bitmap_context = nbd_backend_find_bitmap (nb);
    if (nb->timed_out) {
      error_set (ETIMEDOUT, "NBD server at %s did not answer in %u s",
                 location, backend_timeout ());
      return -1;
    }
  }

  if (nbd_backend_request_contexts (nb, bitmap_context) == -1) {
    error_set (nbd_backend_errno (), "nbd: %s", nbd_get_error ());
    free (bitmap_context);
    return -1;
  }

  /* An oldstyle server skips option mode: already in transmission. */
  if (nbd_aio_is_negotiating (nb->nbd) == 1
      && nbd_backend_opt_go (nb) == -1) {
    e = errno;
    if (e == ETIMEDOUT)
      error_set (e, "NBD server at %s did not answer in %u s", location,
                 backend_timeout ());
    else {
      /* The server answered but refused: a missing export is the
       * descriptor's fault, not a temporary outage. */
      if (e == ENOENT || e == ECONNREFUSED)
        e = EIO;
      error_set (e, "NBD server at %s refused export \"%s\": %s", location,
                 t->export_name ? t->export_name : "", nbd_get_error ());
    }
    free (bitmap_context);
    return -1;
  }

  nb->has_allocation = nbd_can_meta_context (nb->nbd,
                                             CONTEXT_ALLOCATION) == 1;
  nb->has_depth = nbd_can_meta_context (nb->nbd, CONTEXT_DEPTH) == 1;
  if (bitmap_context != NULL) {
    if (nbd_can_meta_context (nb->nbd, bitmap_context) == 1)
      nb->bitmap_context = bitmap_context;
    else {
      log_warning ("open: transfer %s: the NBD server does not offer %s: "
                   "context=dirty will report everything dirty",
                   nb->id, bitmap_context);
      free (bitmap_context);
    }
  }
  return 0;
}

static void nbd_backend_close (struct backend *b);

static struct backend *
nbd_backend_open (const struct transfer *t, bool writable)
{
  struct nbd_backend *nb;
  int64_t size, max_block;

  (void) writable;
  nb = calloc (1, sizeof *nb);
  if (nb == NULL) {
    error_set (ENOMEM, "open: transfer %s: calloc", t->id);
    return NULL;
  }
  nb->id = t->id;
  extent_list_init (&nb->allocation);
  extent_list_init (&nb->depth);
  extent_list_init (&nb->bitmap);

  nb->nbd = nbd_create ();
  if (nb->nbd == NULL) {
    error_set (nbd_backend_errno (), "nbd_create: %s", nbd_get_error ());
    goto err;
  }
  if (nbd_backend_negotiate (nb, t) == -1)
    goto err;

  size = nbd_get_size (nb->nbd);
  if (size == -1) {
    error_set (nbd_backend_errno (), "nbd: cannot get the export size: %s",
               nbd_get_error ());
    goto err;
  }
  nb->backend.size = (uint64_t) size;

  nb->backend.max_request = NBD_MAX_REQUEST;
  max_block = nbd_get_block_size (nb->nbd, LIBNBD_SIZE_MAXIMUM);
  if (max_block > 0 && (uint64_t) max_block < nb->backend.max_request)
    nb->backend.max_request = (uint64_t) max_block;

  log_debug ("open: transfer %s: nbd size %" PRIu64 " max request %" PRIu64
             " contexts:%s%s%s%s", t->id, nb->backend.size,
             nb->backend.max_request,
             nb->has_allocation ? " " CONTEXT_ALLOCATION : "",
             nb->has_depth ? " " CONTEXT_DEPTH : "",
             nb->bitmap_context ? " " : "",
             nb->bitmap_context ? nb->bitmap_context : "");
  return &nb->backend;

 err:
  nbd_backend_close (&nb->backend);
  return NULL;
}

static void
nbd_backend_close (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  if (nb->nbd != NULL) {
    /* Say goodbye so the server finishes cleanly, but never wait longer
     * than for any other answer, and not at all for a server that went
     * silent: errors here change nothing for the client, whose request
     * is already answered. */
    if (!nb->timed_out && nbd_aio_is_ready (nb->nbd) == 1
        && (nbd_aio_disconnect (nb->nbd, 0) == -1
            || nbd_backend_poll_until (nb, handle_finished, nb->nbd) == -1))
      log_debug ("close: transfer %s: disconnect: %s", nb->id,
                 nb->timed_out ? "no answer" : nbd_get_error ());
    nbd_close (nb->nbd);
  }
  free (nb->bitmap_context);
  extent_list_free (&nb->allocation);
  extent_list_free (&nb->depth);
  extent_list_free (&nb->bitmap);
  free (nb);
}

/* nbd_is_read_only and friends: 1, 0 or -1 (recorded). */
static int
nbd_backend_capability (struct nbd_backend *nb, const char *what, int r)
{
  if (r == -1)
    error_set (nbd_backend_errno (), "%s: transfer %s: %s", what, nb->id,
               nbd_get_error ());
  return r;
}

static int
nbd_backend_can_write (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);
  int r = nbd_backend_capability (nb, "can_write", nbd_is_read_only (nb->nbd));

  return r == -1 ? -1 : !r;
}

static int
nbd_backend_can_zero (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  return nbd_backend_capability (nb, "can_zero", nbd_can_zero (nb->nbd));
}

static int
nbd_backend_can_flush (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  return nbd_backend_capability (nb, "can_flush", nbd_can_flush (nb->nbd));
}

static int
nbd_backend_can_extents (struct backend *b)
{
  return to_nbd (b)->has_allocation;
}

static int
nbd_backend_can_dirty (struct backend *b)
{
  return to_nbd (b)->bitmap_context != NULL;
}

/* Pieces for count bytes: at most NBD_MAX_PIECES, each at least
 * NBD_MIN_PIECE and a multiple of 64 KiB (servers' alignment). */
static size_t
nbd_backend_piece_size (size_t count)
{
  size_t piece = (count + NBD_MAX_PIECES - 1) / NBD_MAX_PIECES;

  if (piece < NBD_MIN_PIECE)
    piece = NBD_MIN_PIECE;
  piece = (piece + 65535) & ~(size_t) 65535;
  return piece;
}

/* Send [offset, offset+count) as pipelined pieces and wait for all of
 * them.  write: buf is the source, else the destination. */
static int
nbd_backend_pipelined (struct nbd_backend *nb, bool write, void *buf,
                       size_t count, uint64_t offset)
{
  const char *what = write ? "pwrite" : "pread";
  size_t piece_size = nbd_backend_piece_size (count);
  size_t nr = 0, i, pos;
  int error = 0;
  uint64_t error_offset = offset;
  char detail[256] = "";

  for (pos = 0; pos < count; pos += piece_size, nr++) {
    struct nbd_piece *piece = &nb->pieces[nr];
    size_t n = count - pos < piece_size ? count - pos : piece_size;
    nbd_completion_callback done = {
      .callback = nbd_backend_piece_done, .user_data = piece,
    };
    int64_t cookie;

    piece->nb = nb;
    piece->offset = offset + pos;
    piece->done = false;
    piece->error = 0;
    if (write)
      cookie = nbd_aio_pwrite (nb->nbd, (char *) buf + pos, n,
                               offset + pos, done, 0);
    else
      cookie = nbd_aio_pread (nb->nbd, (char *) buf + pos, n,
                              offset + pos, done, 0);
    if (cookie == -1) {
      /* Not sent, so its callback will not run: stop sending, but wait
       * for what is in flight (its buffers are the caller's). */
      piece->done = true;
      piece->error = nbd_backend_errno ();
      snprintf (detail, sizeof detail, "%s", nbd_get_error ());
      nr++;
      break;
    }
  }

  for (i = 0; i < nr; i++) {
    if (nbd_backend_poll_until (nb, piece_is_done, &nb->pieces[i]) == -1) {
      /* The connection is gone (libnbd fails what was in flight) or the
       * server went silent. */
      if (error == 0) {
        error = errno;
        error_offset = nb->pieces[i].offset;
        if (error != ETIMEDOUT)
          snprintf (detail, sizeof detail, "%s", nbd_get_error ());
      }
      goto out;
    }
    if (nb->pieces[i].error != 0 && error == 0) {
      error = nb->pieces[i].error;
      error_offset = nb->pieces[i].offset;
    }
  }
 out:
  if (error != 0)
    return nbd_backend_op_failed (nb, error, what, error_offset,
                                  detail[0] ? detail : NULL);
  return 0;
}

static int
nbd_backend_pread (struct backend *b, void *buf, size_t count,
                   uint64_t offset)
{
  struct nbd_backend *nb = to_nbd (b);

  if (count > NBD_MIN_PIECE)
    return nbd_backend_pipelined (nb, false, buf, count, offset);
  return nbd_backend_await (nb, nbd_aio_pread (nb->nbd, buf, count, offset,
                                              nbd_backend_expect (nb, offset),
                                              0),
                           "pread", offset);
}

static int
nbd_backend_pwrite (struct backend *b, const void *buf, size_t count,
                    uint64_t offset)
{
  struct nbd_backend *nb = to_nbd (b);

  if (count > NBD_MIN_PIECE)
    return nbd_backend_pipelined (nb, true, (void *) buf, count, offset);
  return nbd_backend_await (nb, nbd_aio_pwrite (nb->nbd, buf, count, offset,
                                               nbd_backend_expect (nb, offset),
                                               0),
                           "pwrite", offset);
}

static int
nbd_backend_zero (struct backend *b, uint64_t count, uint64_t offset,
                  bool may_trim)
{
  struct nbd_backend *nb = to_nbd (b);
  uint32_t flags = may_trim ? 0 : LIBNBD_CMD_FLAG_NO_HOLE;

  return nbd_backend_await (nb, nbd_aio_zero (nb->nbd, count, offset,
                                             nbd_backend_expect (nb, offset),
                                             flags),
                           "zero", offset);
}

static int
nbd_backend_flush (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  return nbd_backend_await (nb, nbd_aio_flush (nb->nbd,
                                              nbd_backend_expect (nb, 0), 0),
                           "flush", 0);
}

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

static int
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

const struct backend_ops backend_nbd_ops = {
  .name = "nbd",
  .open = nbd_backend_open,
  .close = nbd_backend_close,
  .can_write = nbd_backend_can_write,
  .can_zero = nbd_backend_can_zero,
  .can_flush = nbd_backend_can_flush,
  .can_extents = nbd_backend_can_extents,
  .can_dirty = nbd_backend_can_dirty,
  .pread = nbd_backend_pread,
  .pwrite = nbd_backend_pwrite,
  .zero = nbd_backend_zero,
  .flush = nbd_backend_flush,
  .extents = nbd_backend_extents,
};
