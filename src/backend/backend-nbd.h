/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend's parts (backend-nbd*.c): the handle, its pieces
 * in flight, and the helpers they share.  Private to the backend. */
#ifndef IMAGEXFER_BACKEND_NBD_H
#define IMAGEXFER_BACKEND_NBD_H

#include <stdbool.h>
#include <stdint.h>

#include <libnbd.h>

#include "backend.h"

/* libnbd (1.14) refuses requests over 64 MiB; servers may advertise
 * less, which wins. */
#define NBD_MAX_REQUEST (32u * 1024 * 1024)

/* Pipelining: a large read or write goes as commands of NBD_PIECE
 * bytes, with up to NBD_MAX_PIECES of them in flight; a new one is sent
 * as soon as the oldest is answered (smaller requests go as one
 * command).
 *
 * 120 KiB because qemu-nbd allocates a buffer per command with
 * posix_memalign: glibc serves a buffer of 128 KiB or more with its own
 * mmap, and after the first aligned one is freed its mmap threshold
 * settles a few bytes below the next request of the same size, so every
 * later command of that size pays an mmap, 128 page faults per 512 KiB
 * and an munmap (measured: qemu-nbd spent 4-5 s of CPU per GiB read in
 * 512 KiB commands, 0.5 s when an earlier client of another size had
 * raised the threshold: the bimodal GET rate).  What glibc sees is the
 * command plus the 4 KiB alignment plus its own header: 120 KiB is the
 * largest multiple of 4 KiB that stays below 128 KiB, so the buffers
 * come from the heap whatever the server served before.  Each command
 * has a cost of its own, in the server and here: with 120 KiB commands
 * qemu-nbd used about a quarter less CPU per GiB read, and the worker a
 * fifth less, than with 64 KiB ones (docs/benchmark.md).  16 in flight is what qemu-nbd
 * works on at once per connection. */
#define NBD_PIECE (120u * 1024)
#define NBD_MAX_PIECES 16

/* Block status: the NBD request length is 32 bits.  Ask for as much as
 * fits, rounded to 1 MiB so every step but the last stays aligned. */
#define NBD_EXTENTS_MAX (UINT64_C (4) * 1024 * 1024 * 1024 - 1024 * 1024)

/* Block status commands one extents call keeps in flight: the round
 * trips overlap, and the server answers the next while the worker merges
 * the last.  Each covers at most NBD_EXTENTS_MAX, and its extents are
 * capped (NBD_EXTENTS_PART_MAX below).  4 is as fast as 8 against
 * qemu-nbd (the server's CPU is then the limit). */
#define NBD_EXTENTS_IN_FLIGHT 4

/* A range described in extents smaller than a page (4 GiB of 4 KiB
 * extents is a million of them) would hold tens of MiB per list: once a
 * range's lists hold this many extents, the call stops asking and
 * returns what is described so far (the caller asks again from there),
 * so a call's memory stays a few MiB whatever the image. */
#define NBD_EXTENTS_PART_MAX 65536

#define CONTEXT_ALLOCATION "base:allocation"
#define CONTEXT_DEPTH "qemu:allocation-depth"
#define CONTEXT_BITMAP_PREFIX "qemu:dirty-bitmap:"

/* The qemu:dirty-bitmap context has a single flag. */
#define NBD_STATE_DIRTY 1u

/* backend-nbd.c: the ops; backend-nbd-descriptor.c: the registry row. */
extern const struct backend_ops backend_nbd_ops;

#define NBD_DEFAULT_PORT "10809"

/* Where the export is, as the descriptor says (backend-nbd-descriptor.c):
 * a unix socket, or host and port. */
struct nbd_location {
  char *socket;                 /* absolute path, or NULL */
  char *host;                   /* or NULL */
  char *port;                   /* with host: NBD_DEFAULT_PORT by default */
  char *export_name;            /* "" by default */
  char *export_bitmap;          /* dirty bitmap name, or NULL */
};

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

/* One range of an extents call, [start, end): asked in one block status
 * command, and asked again from where the answer stopped when the server
 * described less.  One list per context, merged once the range is
 * complete.  Lives in the backend, not on the stack: libnbd may call back
 * as late as nbd_close. */
struct nbd_extents_range {
  struct nbd_backend *nb;
  enum extents_context context;
  uint64_t start, end;
  uint64_t asked;               /* offset of the command in flight */
  unsigned answered;            /* NBD_ANSWERED_* of that command */
  bool in_flight;
  int error;
  struct extent_list allocation, depth, bitmap;
};

struct nbd_backend {
  struct backend backend;       /* must be first */
  struct nbd_handle *nbd;       /* NULL once given up */
  char id[TRANSFER_ID_MAX + 1]; /* the transfer's id, for logs (a copy:
                                 * a kept backend outlives its request) */
  char *bitmap_context;         /* negotiated bitmap context, or NULL */
  bool has_allocation;
  bool has_depth;
  bool timed_out;               /* the server stopped answering */
  bool gone;                    /* a kept connection found closed */
  /* A request's call that must stop (abandoned, or its transfer
   * cancelled: nbd_backend_poll_request) waits for its commands in flight
   * until this time (monotonic ms; 0: not stopping), then gives the
   * connection up (nbd_backend_give_up). */
  int64_t stop_deadline_ms;
  int64_t cancel_checked_ms;    /* the cancel check last asked */
  bool cancelled;               /* the check said the transfer is gone */
  const char *op;               /* the op under way, for logs */
  /* The export's flags, read once the handshake is done: libnbd answers
   * them only while the handle is connected or closed, not once the
   * connection died, and a request on a dead connection must fail as
   * ENOTCONN, not as a question about flags. */
  int read_only, can_zero, can_flush;

  struct nbd_piece pieces[NBD_MAX_PIECES]; /* a ring, oldest first */
  uint64_t piece_size;          /* NBD_PIECE within the server's limits */
  /* The single command or option a non-pipelined call waits for (here,
   * not on the stack: libnbd may complete it as late as nbd_close). */
  struct nbd_piece waiting;
  struct bitmap_listing *listing; /* during nbd_backend_find_bitmap */

  /* Block status in flight (backend-nbd-extents.c; lists reused). */
  struct nbd_extents_range ranges[NBD_EXTENTS_IN_FLIGHT];
};

static inline struct nbd_backend *
to_nbd (struct backend *b)
{
  return (struct nbd_backend *) b;
}

/* backend-nbd-wait.c: errors and bounded waits. */
int nbd_backend_errno (void);
int nbd_backend_op_failed (struct nbd_backend *nb, int errnum,
                           const char *what, uint64_t offset,
                           const char *detail);
int nbd_backend_failed (struct nbd_backend *nb, const char *what,
                        uint64_t offset);
int nbd_backend_poll_until (struct nbd_backend *nb, bool (*done) (void *),
                            void *arg);
int nbd_backend_poll_request (struct nbd_backend *nb, bool (*done) (void *),
                              void *arg);
int nbd_backend_poll_goodbye (struct nbd_backend *nb, bool (*done) (void *),
                              void *arg);
bool nbd_backend_stopping (struct nbd_backend *nb);
int nbd_backend_op_begin (struct nbd_backend *nb, const char *what,
                          uint64_t offset);
bool nbd_piece_is_done (void *arg);
int nbd_backend_piece_done (void *opaque, int *error);
nbd_completion_callback nbd_backend_expect (struct nbd_backend *nb,
                                            uint64_t offset);
int nbd_backend_await (struct nbd_backend *nb, int64_t cookie,
                       const char *what, uint64_t offset);

/* backend-nbd-open.c */
struct backend *nbd_backend_open (const struct transfer *t, bool writable);
void nbd_backend_close (struct backend *b);
bool nbd_backend_can_keep (struct backend *b);
bool nbd_backend_reuse (struct backend *b, const struct transfer *t);

/* backend-nbd-extents.c */
void nbd_backend_extents_init (struct nbd_backend *nb);
void nbd_backend_extents_free (struct nbd_backend *nb);
int nbd_backend_extents (struct backend *b, enum extents_context context,
                         uint64_t count, uint64_t offset,
                         struct extent_list *list);

#endif
