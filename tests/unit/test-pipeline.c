/* SPDX-License-Identifier: Apache-2.0 */
/* The pipeline (fcgi/pipeline.c) against a backend of this test: an
 * image in memory whose pread/pwrite count their calls, can fail on the
 * Nth one, and can be slow, so both threads of a pipeline are seen in
 * every order.  Reads come in order, errors come back with the offset
 * of the chunk that failed, and finishing early neither hangs nor
 * leaks (make check-valgrind runs this too). */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "backend-registry.h"
#include "error.h"
#include "pipeline.h"
#include "tap.h"

#define CHUNK 4096
#define IMAGE_SIZE (16 * CHUNK)

/* The test double: struct backend first, as the real backends do. */
struct fake_backend {
  struct backend b;
  unsigned char data[IMAGE_SIZE];
  unsigned calls;               /* pread/pwrite calls so far */
  unsigned fail_call;           /* fail this call (1-based); 0: never */
  int fail_errno;
  useconds_t delay;             /* per call, to let the other side run */
  /* A read in pieces, as the NBD backend's: pieces per pread, each
   * taking delay, stopping between them when abandoned (ECANCELED). */
  unsigned pieces;
  unsigned pieces_read;         /* pieces read so far, all calls */
  bool saw_abandon;
};

static struct transfer fake_transfer = { .id = "fake" };

static int
fake_call (struct fake_backend *f)
{
  f->calls++;
  if (f->delay)
    usleep (f->delay);
  if (f->fail_call && f->calls == f->fail_call) {
    error_set (f->fail_errno, "fake failure on call %u", f->calls);
    return -1;
  }
  return 0;
}

static int
fake_pread_pieces (struct fake_backend *f, void *buf, size_t count,
                   uint64_t offset)
{
  f->calls++;
  for (unsigned i = 0; i < f->pieces; i++) {
    if (backend_abandoned (&f->b)) {
      f->saw_abandon = true;
      error_set (ECANCELED, "read at offset %" PRIu64 ": abandoned", offset);
      return -1;
    }
    usleep (f->delay);
    f->pieces_read++;
  }
  memcpy (buf, f->data + offset, count);
  return 0;
}

static int
fake_pread (struct backend *b, void *buf, size_t count, uint64_t offset)
{
  struct fake_backend *f = (struct fake_backend *) b;

  if (f->pieces)
    return fake_pread_pieces (f, buf, count, offset);
  if (fake_call (f) == -1)
    return -1;
  memcpy (buf, f->data + offset, count);
  return 0;
}

static int
fake_pwrite (struct backend *b, const void *buf, size_t count,
             uint64_t offset)
{
  struct fake_backend *f = (struct fake_backend *) b;

  if (fake_call (f) == -1)
    return -1;
  memcpy (f->data + offset, buf, count);
  return 0;
}

static const struct backend_ops fake_ops = {
  .pread = fake_pread,
  .pwrite = fake_pwrite,
};

static void
fake_init (struct fake_backend *f, bool fill)
{
  memset (f, 0, sizeof *f);
  f->b.ops = &fake_ops;
  /* Error paths of backend.c name the transfer's backend. */
  fake_transfer.type = backend_type_find ("file");
  f->b.transfer = &fake_transfer;
  f->b.size = IMAGE_SIZE;
  /* One backend call per chunk, so "the Nth call" is "the Nth chunk". */
  f->b.max_request = CHUNK;
  f->b.writable = true;
  f->b.cached_can_write = f->b.cached_can_zero = f->b.cached_can_flush = -2;
  f->b.cached_can_extents = f->b.cached_can_dirty = -2;
  for (size_t i = 0; fill && i < IMAGE_SIZE; i++)
    f->data[i] = (unsigned char) (i * 7 + i / 251);
}

/* Read [offset, offset+length) through a pipeline; true when every chunk
 * came in order with the image's bytes and the expected length. */
static bool
read_all (struct fake_backend *f, uint64_t offset, uint64_t length,
          size_t *chunks)
{
  struct pipeline *p = pipeline_start_read (&f->b, offset, length, CHUNK);
  uint64_t pos = offset, end = offset + length;
  bool good = p != NULL;

  *chunks = 0;
  while (good && pos < end) {
    size_t n = 0, want = end - pos < CHUNK ? (size_t) (end - pos) : CHUNK;
    const void *chunk = pipeline_next_chunk (p, &n);

    good = chunk && n == want && memcmp (chunk, f->data + pos, n) == 0;
    pos += n;
    (*chunks)++;
  }
  if (p && pipeline_finish (p, NULL) != 0)
    good = false;
  return good;
}

static void
test_read_in_order (void)
{
  struct fake_backend f;
  size_t chunks;
  bool good;

  fake_init (&f, true);
  good = read_all (&f, 0, IMAGE_SIZE, &chunks);
  tap_ok (good && chunks == 16 && f.calls == 16,
          "read 16 chunks in order (%zu chunks, %u calls)", chunks, f.calls);
  fake_init (&f, true);
  good = read_all (&f, 100, 10 * CHUNK + 123, &chunks);
  tap_ok (good && chunks == 11 && f.calls == 11,
          "read from an odd offset, short last chunk (%zu chunks)", chunks);
  fake_init (&f, true);
  f.delay = 2000;
  good = read_all (&f, CHUNK, 5 * CHUNK, &chunks);
  tap_ok (good && chunks == 5, "read with a slow backend (%zu chunks)",
          chunks);
  fake_init (&f, true);
  good = read_all (&f, 7, 100, &chunks);
  tap_ok (good && chunks == 1 && f.calls == 1,
          "read of less than a chunk, inline (%u calls)", f.calls);
  fake_init (&f, true);
  good = read_all (&f, 0, CHUNK, &chunks);
  tap_ok (good && chunks == 1 && f.calls == 1,
          "read of exactly one chunk, inline");
}

/* The backend fails on chunk fail_call of a read from offset: the chunks
 * before it arrive, then NULL with the backend's error, and finish
 * reports the offset of the failed chunk. */
static void
test_read_error (unsigned fail_call, uint64_t offset, uint64_t length)
{
  struct fake_backend f;
  struct pipeline *p;
  uint64_t failed = 0;
  unsigned good_chunks = 0;
  int errnum = 0, r;

  fake_init (&f, true);
  f.fail_call = fail_call;
  f.fail_errno = EIO;
  error_clear ();
  p = pipeline_start_read (&f.b, offset, length, CHUNK);
  for (;;) {
    size_t n;
    const void *chunk = pipeline_next_chunk (p, &n);

    if (!chunk) {
      errnum = error_errno ();
      break;
    }
    if (memcmp (chunk, f.data + offset + good_chunks * CHUNK, n) != 0)
      break;
    good_chunks++;
  }
  r = pipeline_finish (p, &failed);
  tap_ok (good_chunks == fail_call - 1 && errnum == EIO && r == -1
          && error_errno () == EIO
          && failed == offset + (uint64_t) (fail_call - 1) * CHUNK
          && strstr (error_message (), "fake failure") != NULL,
          "read failing on chunk %u of %" PRIu64 " bytes: %u good chunks, "
          "failed at %" PRIu64 " (%s)", fail_call, length, good_chunks,
          failed, error_message ());
}

/* The request's side stops (client gone, transfer cancelled) after
 * taking some chunks: finish returns at once and reports no error. */
static void
test_read_stop_early (unsigned taken, useconds_t delay)
{
  struct fake_backend f;
  struct pipeline *p;
  uint64_t failed = 12345;
  bool good = true;
  int r;

  fake_init (&f, true);
  f.delay = delay;
  p = pipeline_start_read (&f.b, 0, IMAGE_SIZE, CHUNK);
  for (unsigned i = 0; i < taken && good; i++) {
    size_t n;

    good = pipeline_next_chunk (p, &n) != NULL && n == CHUNK;
  }
  r = pipeline_finish (p, &failed);
  /* The thread reads at most the two buffers ahead of the request. */
  tap_ok (good && r == 0 && failed == 12345 && f.calls <= taken + 2,
          "read stopped after %u chunks: no error, %u backend calls",
          taken, f.calls);
}

/* A download that ends early abandons the chunk the backend thread is
 * reading: the read stops between its pieces instead of finishing the
 * chunk, the abandon is no failure, and the backend is not left
 * abandoned for its next read (a kept backend). */
static void
test_read_abandoned (bool abandon_first)
{
  struct fake_backend f;
  struct pipeline *p;
  uint64_t failed = 12345;
  size_t n;
  bool good;
  char buf[CHUNK];
  int r;

  fake_init (&f, true);
  /* A chunk: 200 pieces, 1 s, time enough for the abandon to come
   * in the middle of the second even on a busy machine. */
  f.pieces = 200;
  f.delay = 5000;
  error_clear ();
  p = pipeline_start_read (&f.b, 0, IMAGE_SIZE, CHUNK);
  good = pipeline_next_chunk (p, &n) != NULL && n == CHUNK;
  /* The thread is now reading the second chunk, at its first pieces. */
  if (abandon_first)
    pipeline_abandon (p);
  r = pipeline_finish (p, &failed);
  tap_ok (good && r == 0 && failed == 12345 && error_errno () == 0
          && f.saw_abandon && f.calls == 2 && f.pieces_read < 2 * 200,
          "read abandoned in its second chunk%s: no error, %u of %u "
          "pieces read", abandon_first ? " (pipeline_abandon)" : "",
          f.pieces_read, 2 * 200);
  tap_ok (!backend_abandoned (&f.b)
          && backend_pread (&f.b, buf, CHUNK, CHUNK) == 0
          && memcmp (buf, f.data + CHUNK, CHUNK) == 0,
          "after the pipeline, the backend reads again");

  if (abandon_first)
    return;
  /* Finishing after the last chunk abandons nothing. */
  fake_init (&f, true);
  f.pieces = 4;
  f.delay = 100;
  good = read_all (&f, 0, 4 * CHUNK, &n);
  tap_ok (good && n == 4 && !f.saw_abandon && f.pieces_read == 4 * 4,
          "read to the end: nothing abandoned (%u pieces)", f.pieces_read);
}

/* Write [offset, offset+length) in chunks; submit only the first
 * submitted bytes (all when submitted == length).  Returns finish's
 * result; *source is what was sent. */
static int
write_some (struct fake_backend *f, uint64_t offset, uint64_t length,
            uint64_t submitted, unsigned char *source, uint64_t *failed,
            int *buffer_errno)
{
  struct pipeline *p = pipeline_start_write (&f->b, offset, length, CHUNK);
  uint64_t done = 0;

  *buffer_errno = 0;
  for (uint64_t i = 0; i < length; i++)
    source[i] = (unsigned char) (i * 13 + 5);
  while (done < submitted) {
    size_t n = submitted - done < CHUNK ? (size_t) (submitted - done) : CHUNK;
    void *buffer = pipeline_free_buffer (p);

    if (!buffer) {
      *buffer_errno = error_errno ();
      break;
    }
    memcpy (buffer, source + done, n);
    pipeline_submit (p, n);
    done += n;
  }
  return pipeline_finish (p, failed);
}

static void
test_write (void)
{
  static unsigned char source[IMAGE_SIZE];
  static const unsigned char zero[IMAGE_SIZE];
  struct fake_backend f;
  uint64_t failed = 0, length = 7 * CHUNK + 5, part = 3 * CHUNK;
  int buffer_errno, r;

  fake_init (&f, false);
  r = write_some (&f, 11, length, length, source, &failed, &buffer_errno);
  tap_ok (r == 0 && f.calls == 8 && memcmp (f.data + 11, source, length) == 0
          && memcmp (f.data, zero, 11) == 0
          && memcmp (f.data + 11 + length, zero,
                     IMAGE_SIZE - 11 - length) == 0,
          "write of 8 chunks: all written where asked (%u calls)", f.calls);

  fake_init (&f, false);
  f.delay = 3000;
  r = write_some (&f, 0, length, part, source, &failed, &buffer_errno);
  tap_ok (r == 0 && f.calls == 3 && memcmp (f.data, source, part) == 0
          && memcmp (f.data + part, zero, IMAGE_SIZE - part) == 0,
          "write stopped after 3 chunks: finish writes what was submitted, "
          "nothing more (%u calls)", f.calls);

  fake_init (&f, false);
  r = write_some (&f, 0, length, 0, source, &failed, &buffer_errno);
  tap_ok (r == 0 && f.calls == 0, "write stopped before any chunk");

  fake_init (&f, false);
  r = write_some (&f, 5, 100, 100, source, &failed, &buffer_errno);
  tap_ok (r == 0 && f.calls == 1 && memcmp (f.data + 5, source, 100) == 0,
          "write of less than a chunk, inline");
}

static void
test_write_error (unsigned fail_call, uint64_t offset, uint64_t length)
{
  static unsigned char source[IMAGE_SIZE];
  struct fake_backend f;
  uint64_t failed = 0;
  int buffer_errno, r;

  fake_init (&f, false);
  f.fail_call = fail_call;
  f.fail_errno = ENOSPC;
  error_clear ();
  r = write_some (&f, offset, length, length, source, &failed,
                  &buffer_errno);
  tap_ok (r == -1 && error_errno () == ENOSPC
          && (buffer_errno == 0 || buffer_errno == ENOSPC)
          && failed == offset + (uint64_t) (fail_call - 1) * CHUNK
          && f.calls == fail_call
          && memcmp (f.data + offset, source,
                     (size_t) (fail_call - 1) * CHUNK) == 0,
          "write failing on chunk %u: reported at %" PRIu64 " (%s), %u calls",
          fail_call, failed, error_message (), f.calls);
}

int
main (void)
{
  test_read_in_order ();
  test_read_error (1, 0, IMAGE_SIZE);
  test_read_error (4, 0, IMAGE_SIZE);
  test_read_error (6, 3 * CHUNK, 10 * CHUNK);
  test_read_error (16, 0, IMAGE_SIZE);
  test_read_error (1, 10, 100);
  test_read_stop_early (0, 0);
  test_read_stop_early (1, 0);
  test_read_stop_early (3, 1000);
  test_read_stop_early (15, 0);
  test_read_abandoned (false);
  test_read_abandoned (true);
  test_write ();
  test_write_error (1, 0, 8 * CHUNK);
  test_write_error (3, CHUNK, 8 * CHUNK);
  test_write_error (8, 0, 8 * CHUNK);
  test_write_error (1, 0, 100);
  return tap_done ();
}
