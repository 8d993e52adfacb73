/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend: turning libnbd failures into errors a client can act
 * on, and waiting for answers with a bound. */
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
#include "monotonic.h"

/* libnbd's errno for the last failed call, never 0. */
int
nbd_backend_errno (void)
{
  int e = nbd_get_errno ();

  return e != 0 ? e : EIO;
}

/* A data operation failed: the message for the client names the
 * operation and the offset; libnbd's own text (which may name the socket)
 * goes to the log only. */
int
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
  /* Stopped: not the server's fault, nothing to log (a connection given
   * up was).  The pipeline does not report an abandoned read; a cancel
   * is the client's answer (403). */
  if (errnum == ECANCELED) {
    if (nb->cancelled)
      error_set (ECANCELED, "%s at offset %" PRIu64 ": transfer %s was "
                 "cancelled", what, offset, nb->id);
    else if (nb->backend.client_gone)
      error_set (ECANCELED, "%s at offset %" PRIu64 ": the client went "
                 "away", what, offset);
    else
      error_set (ECANCELED, "%s at offset %" PRIu64 ": abandoned", what,
                 offset);
    return -1;
  }
  if (nb->nbd == NULL || nbd_aio_is_dead (nb->nbd) == 1
      || nbd_aio_is_closed (nb->nbd) == 1 || nb->timed_out)
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
int
nbd_backend_failed (struct nbd_backend *nb, const char *what, uint64_t offset)
{
  return nbd_backend_op_failed (nb, nbd_backend_errno (), what, offset,
                                nbd_get_error ());
}

/* How long a request's call that must stop (abandoned by its caller, its
 * transfer cancelled) still waits for the commands it has in flight
 * before it gives the connection up.  Their buffers are the caller's,
 * so the call cannot return while libnbd may still write there.  A
 * server that works answers 16 commands of 120 KiB within milliseconds
 * (tens on a slow disk), and then the connection is left clean; one
 * that has not answered in a second is stalled, and waiting for it up
 * to backend_timeout would break the promise that a cancel stops a
 * transfer's requests within about a second.  Giving up costs the next
 * request a handshake: the connection of a stopped call is never kept
 * anyway (backend_set_abandoned). */
#define NBD_STOP_WAIT_MS 1000

/* The goodbye (NBD_CMD_DISC) at close: a server that works closes the
 * connection at once. */
#define NBD_GOODBYE_WAIT_MS 1000

/* How long one poll waits before looking again: how late a stop is
 * noticed while the server says nothing. */
#define NBD_POLL_SLICE_MS 200

/* How often, at most, a request's call whose server is silent asks
 * whether its transfer is still wanted (a stat of the descriptor), as
 * the http backend does.  A server that answers is not interrupted: the
 * request notices a cancel at its next chunk, as with any backend. */
#define NBD_CANCEL_CHECK_MS 200

/* The start of an op: a connection given up stays given up (ENOTCONN),
 * and each op gets a full NBD_STOP_WAIT_MS once it is stopped.  Returns
 * 0, or -1 after error_set. */
int
nbd_backend_op_begin (struct nbd_backend *nb, const char *what,
                      uint64_t offset)
{
  nb->op = what;
  nb->stop_deadline_ms = 0;
  if (nb->nbd == NULL) {
    error_set (ENOTCONN, "%s at offset %" PRIu64 ": the connection to the "
               "NBD server was given up", what, offset);
    return -1;
  }
  return 0;
}

/* Whether the request's call should stop: its caller abandoned it, or
 * an earlier check found its transfer cancelled.  Sends nothing new. */
bool
nbd_backend_stopping (struct nbd_backend *nb)
{
  return backend_abandoned (&nb->backend) || nb->cancelled;
}

/* The server is silent: ask the cancel check when it is due, and look
 * whether a watched client went away (backend_watch_client), which
 * makes the call an abandoned one. */
static void
nbd_backend_check_cancel (struct nbd_backend *nb, int64_t now)
{
  if (!nb->cancelled && now - nb->cancel_checked_ms >= NBD_CANCEL_CHECK_MS) {
    nb->cancel_checked_ms = now;
    nb->cancelled = !backend_still_wanted (&nb->backend);
    if (!nb->cancelled)
      backend_client_gone (&nb->backend);
  }
}

/* Close the connection at once, without a goodbye and without reading
 * another byte from it.  libnbd writes an answer into a command's buffer
 * only while it runs the handle (nbd_poll and the like, in this
 * thread), and nbd_close frees the commands in flight without running
 * them or their callbacks, so once this returns nothing lands in the
 * buffers of the call that gave up, nor in nb->pieces or nb->ranges.
 * Later ops fail with ENOTCONN (nbd_backend_op_begin); the failed call
 * keeps the backend from being kept. */
static void
nbd_backend_give_up (struct nbd_backend *nb)
{
  int in_flight = nbd_aio_in_flight (nb->nbd);

  log_warning ("%s: transfer %s: the NBD server did not answer %d "
               "command%s in flight within %d ms of the %s: connection "
               "closed", nb->op, nb->id, in_flight, in_flight == 1 ? "" : "s",
               NBD_STOP_WAIT_MS, nb->cancelled ? "cancel"
               : nb->backend.client_gone ? "client going away" : "abandon");
  nbd_close (nb->nbd);
  nb->nbd = NULL;
}

/* Poll the handle until done (arg) says the awaited answer came.  A
 * server that says nothing for silence_ms (backend_timeout) fails the
 * call with ETIMEDOUT (503): a stopped or hung server must not hold a
 * worker forever.  Any answer restarts the clock, so a slow server that
 * keeps answering is waited for; unless total, when silence_ms bounds
 * the whole wait (the goodbye).  stoppable: a request's call, which also
 * ends once stopped and NBD_STOP_WAIT_MS have passed, with ECANCELED
 * and the connection given up.  Returns 0, or -1 with errno. */
static int
nbd_backend_poll (struct nbd_backend *nb, bool (*done) (void *), void *arg,
                  bool stoppable, int64_t silence_ms, bool total)
{
  int64_t silent_since = monotonic_ms ();

  while (!done (arg)) {
    int64_t now = monotonic_ms (), timeout = NBD_POLL_SLICE_MS;
    int r;

    if (stoppable && nbd_backend_stopping (nb)) {
      if (nb->stop_deadline_ms == 0)
        nb->stop_deadline_ms = now + NBD_STOP_WAIT_MS;
      if (now >= nb->stop_deadline_ms) {
        nbd_backend_give_up (nb);
        errno = ECANCELED;
        return -1;
      }
      if (nb->stop_deadline_ms - now < timeout)
        timeout = nb->stop_deadline_ms - now;
    }
    r = nbd_poll (nb->nbd, (int) timeout);
    if (r == -1) {
      errno = nbd_backend_errno ();
      return -1;
    }
    now = monotonic_ms ();
    if (r > 0 && !total) {
      silent_since = now;
      continue;
    }
    if (stoppable)
      nbd_backend_check_cancel (nb, now);
    if (now - silent_since >= silence_ms) {
      nb->timed_out = true;
      errno = ETIMEDOUT;
      return -1;
    }
  }
  return 0;
}

/* For the handshake: bounded by backend_timeout only. */
int
nbd_backend_poll_until (struct nbd_backend *nb, bool (*done) (void *),
                        void *arg)
{
  return nbd_backend_poll (nb, done, arg, false,
                           (int64_t) backend_timeout () * 1000, false);
}

/* For the goodbye, after the client has its answer: a server that does
 * not close the connection when told to (NBD_CMD_DISC) must not keep
 * the worker from its next request for backend_timeout. */
int
nbd_backend_poll_goodbye (struct nbd_backend *nb, bool (*done) (void *),
                          void *arg)
{
  int64_t limit = (int64_t) backend_timeout () * 1000;

  /* In all, however much the server still sends meanwhile. */
  return nbd_backend_poll (nb, done, arg, false,
                           limit < NBD_GOODBYE_WAIT_MS ? limit
                                                       : NBD_GOODBYE_WAIT_MS,
                           true);
}

/* For a request's commands (reads, writes, zero, flush, block status):
 * also stops, within about a second, a call its caller abandoned, or
 * whose transfer was cancelled while the server was silent. */
int
nbd_backend_poll_request (struct nbd_backend *nb, bool (*done) (void *),
                          void *arg)
{
  return nbd_backend_poll (nb, done, arg, true,
                           (int64_t) backend_timeout () * 1000, false);
}

bool
nbd_piece_is_done (void *arg)
{
  return ((const struct nbd_piece *) arg)->done;
}

int
nbd_backend_piece_done (void *opaque, int *error)
{
  struct nbd_piece *piece = opaque;

  piece->error = *error;
  piece->done = true;
  return 1;                     /* retire the command */
}

/* A fresh completion for the one thing a call waits for. */
nbd_completion_callback
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
int
nbd_backend_await (struct nbd_backend *nb, int64_t cookie, const char *what,
                   uint64_t offset)
{
  if (cookie == -1)
    return nbd_backend_failed (nb, what, offset);
  if (nbd_backend_poll_request (nb, nbd_piece_is_done, &nb->waiting) == -1)
    return nbd_backend_op_failed (nb, errno, what, offset,
                                  errno == ETIMEDOUT ? NULL
                                                     : nbd_get_error ());
  if (nb->waiting.error != 0)
    return nbd_backend_op_failed (nb, nb->waiting.error, what, offset, NULL);
  return 0;
}
