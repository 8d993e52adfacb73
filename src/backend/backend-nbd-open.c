/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend: connecting, the handshake (meta contexts, the dirty
 * bitmap), and closing. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnbd.h>

#include "backend-nbd.h"
#include "error.h"
#include "log.h"

/* The server's location for messages: socket path or host:port. */
static void
nbd_backend_location (const struct transfer *t, char *buf, size_t size)
{
  const struct nbd_location *loc = t->location;

  if (loc->socket != NULL)
    snprintf (buf, size, "%s", loc->socket);
  else
    snprintf (buf, size, "%s:%s", loc->host ? loc->host : "",
              loc->port ? loc->port : NBD_DEFAULT_PORT);
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
      || nbd_backend_poll_until (nb, nbd_piece_is_done, &nb->waiting) == -1
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
  const struct nbd_location *loc = t->location;
  int r;

  if (loc->socket != NULL)
    r = nbd_aio_connect_unix (nb->nbd, loc->socket);
  else if (loc->host != NULL)
    r = nbd_aio_connect_tcp (nb->nbd, loc->host,
                             loc->port ? loc->port : NBD_DEFAULT_PORT);
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
  if (nbd_backend_poll_until (nb, nbd_piece_is_done, &nb->waiting) == -1)
    return -1;
  if (nb->waiting.error != 0 || nbd_aio_is_ready (nb->nbd) != 1) {
    errno = nb->waiting.error ? nb->waiting.error : nbd_backend_errno ();
    return -1;
  }
  return 0;
}

/* After a failed step of the handshake: when the connection is gone
 * (the server stopped, or restarted, while we negotiated; libnbd's errno
 * is then whatever the last send or recv saw), the server is down, which
 * the client may retry (503), not an answer about the export.  Returns
 * true after error_set. */
static bool
nbd_backend_lost (struct nbd_backend *nb, const char *location)
{
  if (nbd_aio_is_dead (nb->nbd) != 1 && nbd_aio_is_closed (nb->nbd) != 1)
    return false;
  error_set (ECONNRESET, "cannot connect to NBD server at %s: %s", location,
             nbd_get_error ());
  return true;
}

/* The export's flags, once: see struct nbd_backend.  Returns 0 or -1
 * after error_set. */
static int
nbd_backend_read_flags (struct nbd_backend *nb)
{
  nb->read_only = nbd_is_read_only (nb->nbd);
  nb->can_zero = nbd_can_zero (nb->nbd);
  nb->can_flush = nbd_can_flush (nb->nbd);
  if (nb->read_only == -1 || nb->can_zero == -1 || nb->can_flush == -1) {
    error_set (nbd_backend_errno (), "nbd: cannot read the export's flags: "
               "%s", nbd_get_error ());
    return -1;
  }
  return 0;
}

/* Connect, choose the contexts, enter transmission.  Returns 0 or -1
 * with error_set. */
static int
nbd_backend_negotiate (struct nbd_backend *nb, const struct transfer *t)
{
  const struct nbd_location *loc = t->location;
  char location[512];
  char *bitmap_context = NULL;
  int r, e;

  nbd_backend_location (t, location, sizeof location);
  if (nbd_set_export_name (nb->nbd,
                           loc->export_name ? loc->export_name : "") == -1
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
    /* A server that hangs up during the handshake (stopped, or
     * restarting, as we connected) is down too.  libnbd says so in
     * several ways: "server disconnected unexpectedly" without an errno
     * (EIO here), EPIPE when it was sending, and EINVAL ("external event
     * is invalid in state CONNECT.START") when the socket's listen queue
     * was full. */
    if (e == EIO || e == EPIPE || e == EINVAL)
      e = ECONNRESET;
    if (e == ETIMEDOUT)
      error_set (e, "NBD server at %s did not answer in %u s", location,
                 backend_timeout ());
    else
      error_set (e, "cannot connect to NBD server at %s: %s", location,
                 nbd_get_error ());
    return -1;
  }

  if (loc->export_bitmap != NULL) {
    if (asprintf (&bitmap_context, "%s%s", CONTEXT_BITMAP_PREFIX,
                  loc->export_bitmap) == -1) {
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
    if (!nbd_backend_lost (nb, location))
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
    else if (!nbd_backend_lost (nb, location)) {
      /* The server answered but refused: a missing export is the
       * descriptor's fault, not a temporary outage. */
      if (e == ENOENT || e == ECONNREFUSED)
        e = EIO;
      error_set (e, "NBD server at %s refused export \"%s\": %s", location,
                 loc->export_name ? loc->export_name : "", nbd_get_error ());
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

struct backend *
nbd_backend_open (const struct transfer *t, bool writable)
{
  struct nbd_backend *nb;
  int64_t size, max_block, preferred_block;

  (void) writable;
  nb = calloc (1, sizeof *nb);
  if (nb == NULL) {
    error_set (ENOMEM, "open: transfer %s: calloc", t->id);
    return NULL;
  }
  snprintf (nb->id, sizeof nb->id, "%s", t->id);
  nb->backend.client_fd = -1;         /* none yet, not standard input */
  nbd_backend_extents_init (nb);

  nb->nbd = nbd_create ();
  if (nb->nbd == NULL) {
    error_set (nbd_backend_errno (), "nbd_create: %s", nbd_get_error ());
    goto err;
  }
  if (nbd_backend_negotiate (nb, t) == -1)
    goto err;

  if (nbd_backend_read_flags (nb) == -1)
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
  /* A server that prefers larger commands gets them; none gets more than
   * it takes. */
  nb->piece_size = NBD_PIECE;
  preferred_block = nbd_get_block_size (nb->nbd, LIBNBD_SIZE_PREFERRED);
  if (preferred_block > 0 && (uint64_t) preferred_block > nb->piece_size)
    nb->piece_size = (uint64_t) preferred_block;
  if (nb->piece_size > nb->backend.max_request)
    nb->piece_size = nb->backend.max_request;

  log_debug ("open: transfer %s: nbd size %" PRIu64 " max request %" PRIu64
             " piece %" PRIu64 " contexts:%s%s%s%s", t->id, nb->backend.size,
             nb->backend.max_request, nb->piece_size,
             nb->has_allocation ? " " CONTEXT_ALLOCATION : "",
             nb->has_depth ? " " CONTEXT_DEPTH : "",
             nb->bitmap_context ? " " : "",
             nb->bitmap_context ? nb->bitmap_context : "");
  return &nb->backend;

 err:
  nbd_backend_close (&nb->backend);
  return NULL;
}

void
nbd_backend_close (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  if (nb->nbd != NULL) {
    /* Say goodbye so the server finishes cleanly, but wait at most a
     * second (NBD_GOODBYE_WAIT_MS), and not at all for a server that
     * went silent: errors here change nothing for the client, whose
     * request is already answered. */
    if (!nb->timed_out && !nb->gone && nbd_aio_is_ready (nb->nbd) == 1
        && (nbd_aio_disconnect (nb->nbd, 0) == -1
            || nbd_backend_poll_goodbye (nb, handle_finished, nb->nbd)
               == -1))
      log_debug ("close: transfer %s: disconnect: %s", nb->id,
                 nb->timed_out ? "no answer" : nbd_get_error ());
    nbd_close (nb->nbd);
  }
  free (nb->bitmap_context);
  nbd_backend_extents_free (nb);
  free (nb);
}

/* A connection is kept between requests only when the server says it
 * takes several at once (NBD_FLAG_CAN_MULTI_CONN: qemu-nbd --shared=N
 * with N > 1, qemu's and nbdkit's servers): a server that takes one
 * client at a time (qemu-nbd's default) would leave every other worker
 * waiting while this one idles.  Never a connection given up
 * (nbd_backend_poll_request). */
bool
nbd_backend_can_keep (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  return nb->nbd != NULL && !nb->timed_out
         && nbd_aio_is_ready (nb->nbd) == 1
         && nbd_can_multi_conn (nb->nbd) == 1;
}

/* Still connected?  A server that went away (stopped, restarted) has
 * closed its end: the socket reads as ready (end of file).  So does one
 * that sent something nobody asked for.  Either way the connection is
 * not trusted with the next request. */
bool
nbd_backend_reuse (struct backend *b, const struct transfer *t)
{
  struct nbd_backend *nb = to_nbd (b);
  struct pollfd pfd = { .fd = nbd_aio_get_fd (nb->nbd), .events = POLLIN };

  if (nbd_aio_is_ready (nb->nbd) != 1 || pfd.fd == -1
      || poll (&pfd, 1, 0) != 0) {
    log_debug ("open: transfer %s: the kept NBD connection is gone, "
               "connecting again", t->id);
    /* libnbd has not seen the end yet: saying goodbye on a closed
     * socket is pointless, and libnbd 1.14 reads freed memory doing it. */
    nb->gone = true;
    return false;
  }
  snprintf (nb->id, sizeof nb->id, "%s", t->id);
  return true;
}
