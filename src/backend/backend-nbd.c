/* SPDX-License-Identifier: Apache-2.0 */
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
 * Large reads and writes are cut in pieces kept in flight with the async
 * API, as nbdcopy does: the server always has the next command queued
 * instead of one round trip per piece (backend-nbd.h says why the
 * pieces are small).  Block status likewise: an extents call keeps up
 * to 4 commands in flight (backend-nbd-extents.c).
 */
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

/* Read at open (nbd_backend_read_flags). */
static int
nbd_backend_can_write (struct backend *b)
{
  return !to_nbd (b)->read_only;
}

static int
nbd_backend_can_zero (struct backend *b)
{
  return to_nbd (b)->can_zero;
}

static int
nbd_backend_can_flush (struct backend *b)
{
  return to_nbd (b)->can_flush;
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

/* Send one piece of [offset, offset+count): the one at pos, in ring
 * slot slot.  Returns 0, or -1 with *detail set (libnbd's text): not
 * sent, so its callback will not run. */
static int
nbd_backend_send_piece (struct nbd_backend *nb, bool write, char *buf,
                        size_t count, uint64_t offset, size_t pos,
                        unsigned slot, char *detail, size_t detail_size)
{
  struct nbd_piece *piece = &nb->pieces[slot];
  size_t n = count - pos < nb->piece_size ? count - pos : nb->piece_size;
  nbd_completion_callback done = {
    .callback = nbd_backend_piece_done, .user_data = piece,
  };
  int64_t cookie;

  piece->nb = nb;
  piece->offset = offset + pos;
  piece->done = false;
  piece->error = 0;
  if (write)
    cookie = nbd_aio_pwrite (nb->nbd, buf + pos, n, offset + pos, done, 0);
  else
    cookie = nbd_aio_pread (nb->nbd, buf + pos, n, offset + pos, done, 0);
  if (cookie == -1) {
    piece->done = true;
    piece->error = nbd_backend_errno ();
    snprintf (detail, detail_size, "%s", nbd_get_error ());
    return -1;
  }
  return 0;
}

/* Send [offset, offset+count) as pieces, up to NBD_MAX_PIECES in flight:
 * each answer makes room for the next piece, so the server always has
 * work queued, as nbdcopy keeps it.  write: buf is the source, else the
 * destination.  A stopped call (abandoned: backend_set_abandoned; or its
 * transfer cancelled) sends no more pieces and fails with ECANCELED once
 * those in flight are answered, so a download that ended early costs the
 * server at most NBD_MAX_PIECES more commands, not the rest of its
 * chunk; a server that does not answer them within about a second has
 * its connection given up (nbd_backend_poll_request). */
static int
nbd_backend_pipelined (struct nbd_backend *nb, bool write, void *buf,
                       size_t count, uint64_t offset)
{
  const char *what = write ? "pwrite" : "pread";
  size_t sent = 0;
  unsigned oldest = 0, in_flight = 0;
  int error = 0;
  uint64_t error_offset = offset;
  char detail[256] = "";

  while (in_flight > 0 || (sent < count && error == 0)) {
    struct nbd_piece *piece;

    /* After a failure or a stop nothing more is sent, but what is in
     * flight is waited for: its buffers are the caller's, and the
     * connection is left with no answer pending. */
    while (sent < count && error == 0 && in_flight < NBD_MAX_PIECES) {
      unsigned slot = (oldest + in_flight) % NBD_MAX_PIECES;

      if (nbd_backend_stopping (nb)) {
        error = ECANCELED;
        error_offset = offset + sent;
        break;
      }
      if (nbd_backend_send_piece (nb, write, buf, count, offset, sent, slot,
                                  detail, sizeof detail) == -1) {
        error = nb->pieces[slot].error;
        error_offset = nb->pieces[slot].offset;
        break;
      }
      sent += nb->piece_size;
      in_flight++;
    }
    if (in_flight == 0)
      break;

    piece = &nb->pieces[oldest];
    if (nbd_backend_poll_request (nb, nbd_piece_is_done, piece) == -1) {
      /* The connection is gone (libnbd fails what was in flight), the
       * server went silent, or the call was stopped and the server did
       * not answer in time (given up). */
      if (error == 0 || errno == ECANCELED) {
        if (error == 0)
          error_offset = piece->offset;
        error = errno;
        detail[0] = '\0';
        if (error != ETIMEDOUT && error != ECANCELED)
          snprintf (detail, sizeof detail, "%s", nbd_get_error ());
      }
      break;
    }
    if (piece->error != 0 && error == 0) {
      error = piece->error;
      error_offset = piece->offset;
    }
    oldest = (oldest + 1) % NBD_MAX_PIECES;
    in_flight--;
  }
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

  if (nbd_backend_op_begin (nb, "pread", offset) == -1)
    return -1;
  if (count > nb->piece_size)
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

  if (nbd_backend_op_begin (nb, "pwrite", offset) == -1)
    return -1;
  if (count > nb->piece_size)
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

  if (nbd_backend_op_begin (nb, "zero", offset) == -1)
    return -1;
  return nbd_backend_await (nb, nbd_aio_zero (nb->nbd, count, offset,
                                             nbd_backend_expect (nb, offset),
                                             flags),
                           "zero", offset);
}

static int
nbd_backend_flush (struct backend *b)
{
  struct nbd_backend *nb = to_nbd (b);

  if (nbd_backend_op_begin (nb, "flush", 0) == -1)
    return -1;
  return nbd_backend_await (nb, nbd_aio_flush (nb->nbd,
                                              nbd_backend_expect (nb, 0), 0),
                           "flush", 0);
}

const struct backend_ops backend_nbd_ops = {
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
  .can_keep = nbd_backend_can_keep,
  .reuse = nbd_backend_reuse,
};
