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
int
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
int
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
  if (nbd_backend_poll_until (nb, nbd_piece_is_done, &nb->waiting) == -1)
    return nbd_backend_op_failed (nb, errno, what, offset,
                                  errno == ETIMEDOUT ? NULL
                                                     : nbd_get_error ());
  if (nb->waiting.error != 0)
    return nbd_backend_op_failed (nb, nb->waiting.error, what, offset, NULL);
  return 0;
}
