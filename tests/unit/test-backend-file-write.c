/* SPDX-License-Identifier: Apache-2.0 */
/* Writes of the file backend on a real file in $TMPDIR, one backend for
 * a series of writes as an upload makes them: whatever the offset, the
 * length, the window and where the buffer sits in memory, the bytes land
 * exactly, nothing around them changes, and reads on the same backend
 * afterwards see them.  With direct_writes on, the whole pages of a
 * write of 1 MiB or more whose buffer agrees with its file offset (the
 * buffer 4096-aligned at the first page boundary) go around the page
 * cache (none of them are cached after the write), and every other write
 * through it (its pages are: all of them unless the kernel dropped some,
 * so at least half are asked).  Where the page cache cannot tell (tmpfs,
 * a file system without O_DIRECT), those checks skip, saying why. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-registry.h"
#include "error.h"
#include "tap.h"

#define MiB (1024u * 1024)
#define FILE_SIZE (12 * MiB)

struct write_case {
  const char *name;
  uint64_t offset;              /* in the window */
  size_t count;
  size_t shift;                 /* the buffer's address mod 4096 */
};

static const struct write_case cases[] = {
  { "two aligned MiB", 0, 2 * MiB, 0 },
  { "aligned, a page past a MiB", 4096, 2 * MiB + 4096, 0 },
  { "odd start and end, address agrees", 4095, 3 * MiB + 7, 4095 },
  { "odd start and end, address does not", 4095 + MiB, 3 * MiB + 7, 0 },
  { "aligned offset, odd address", 8 * MiB, 2 * MiB, 1 },
  { "odd offset and address, a MiB", MiB + 1, MiB, 1 },
  { "sector aligned", 512, 2 * MiB, 512 },
  { "one byte", 7 * MiB, 1, 0 },
  { "up to the end", FILE_SIZE - 2 * MiB - 4097, 2 * MiB + 4097,
    (FILE_SIZE - 2 * MiB - 4097) % 4096 },
};

static void
fill_random (unsigned char *buf, size_t n, unsigned *seed)
{
  for (size_t i = 0; i < n; i++)
    buf[i] = (unsigned char) (rand_r (seed) >> 7);
}

/* The file as it is on disk (read with its own descriptor, not the
 * backend's) equals expected. */
static bool
file_equals (const char *path, uint64_t window, const unsigned char *expected)
{
  unsigned char *got = malloc (FILE_SIZE);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  bool same = got && fd >= 0
    && pread (fd, got, FILE_SIZE, (off_t) window) == FILE_SIZE
    && memcmp (got, expected, FILE_SIZE) == 0;

  if (fd >= 0)
    close (fd);
  free (got);
  return same;
}

/* Drop the file's pages from the page cache (written back first). */
static void
evict (const char *path)
{
  int fd = open (path, O_RDWR | O_CLOEXEC);

  if (fd >= 0) {
    (void) fdatasync (fd);
    (void) posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
    close (fd);
  }
}

static size_t page_size;

/* How many of the pages of [offset, offset + count) (page aligned) of
 * path are in the page cache; -1 if that cannot be told. */
static long
cached_pages (const char *path, uint64_t offset, size_t count)
{
  size_t pages = count / page_size;
  unsigned char *vec = malloc (pages + 1);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  void *map = MAP_FAILED;
  long cached = -1;

  if (vec && fd >= 0)
    map = mmap (NULL, count, PROT_READ, MAP_SHARED, fd, (off_t) offset);
  if (map != MAP_FAILED && mincore (map, count, vec) == 0) {
    cached = 0;
    for (size_t i = 0; i < pages; i++)
      cached += vec[i] & 1;
  }
  if (map != MAP_FAILED)
    munmap (map, count);
  if (fd >= 0)
    close (fd);
  free (vec);
  return cached;
}

/* Why the page cache cannot tell where a write went on the file system
 * of probe (a scratch file), or NULL when it can: a MiB written there
 * around the page cache must leave none of it cached, and written through
 * it, some.  Not so on tmpfs (its files live in the page cache), on file
 * systems that turn direct writes into buffered ones, or on those with
 * no page cache of their own. */
static const char *
cache_untold (const char *probe)
{
  const char *why = NULL;
  void *buffer;
  int fd, direct_fd = -1;

  if (posix_memalign (&buffer, page_size, MiB) != 0)
    return "no memory for the probe";
  memset (buffer, 'p', MiB);
  fd = open (probe, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0)
    direct_fd = open (probe, O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd == -1)
    why = "cannot create a probe file";
  else if (direct_fd == -1)
    why = "this file system refuses O_DIRECT";
  else if (pwrite (direct_fd, buffer, MiB, 0) != (ssize_t) MiB)
    why = "a direct write of the probe failed";
  else if (cached_pages (probe, 0, MiB) != 0)
    why = "this file system caches direct writes (tmpfs does)";
  else if (pwrite (fd, buffer, MiB, 0) != (ssize_t) MiB
           || cached_pages (probe, 0, MiB) <= 0)
    why = "this file system keeps no buffered write in the page cache";
  if (direct_fd >= 0)
    close (direct_fd);
  if (fd >= 0)
    close (fd);
  unlink (probe);
  free (buffer);
  return why;
}

/* Where the write of case c, from buffer, went: the pages of its middle
 * (its whole pages), left out of the page cache by a direct write, cached
 * by a buffered one.  Direct when it is 1 MiB or more and the buffer at
 * its first page boundary is 4096-aligned. */
static void
check_cache (const char *path, uint64_t window, const struct write_case *c,
             const unsigned char *buffer, bool direct_on, const char *untold)
{
  uint64_t start = window + c->offset, middle_start, middle_end, pages;
  bool direct;
  long cached;

  middle_start = (start + page_size - 1) / page_size * page_size;
  middle_end = (start + c->count) / page_size * page_size;
  if (c->count < MiB || middle_end <= middle_start)
    return;
  direct = direct_on && middle_end - middle_start >= MiB
           && ((uintptr_t) buffer + (middle_start - start)) % 4096 == 0;
  if (untold) {
    tap_skip (c->name, untold);
    return;
  }
  pages = (middle_end - middle_start) / page_size;
  cached = cached_pages (path, middle_start, middle_end - middle_start);
  tap_ok (direct ? cached == 0 : cached >= (long) (pages / 2),
          "window %" PRIu64 ", direct_writes %s: %s: %s (%ld pages of %"
          PRIu64 " cached)", window, direct_on ? "yes" : "no", c->name,
          direct ? "around the page cache" : "through the page cache",
          cached, pages);
}

static struct transfer
make_transfer (struct file_location *loc, char *path, uint64_t window)
{
  struct transfer t;

  memset (&t, 0, sizeof t);
  strcpy (t.id, "test-transfer");
  loc->path = path;
  loc->offset = window;
  t.type = backend_type_find ("file");
  t.location = loc;
  t.ops = TRANSFER_OP_READ | TRANSFER_OP_WRITE;
  return t;
}

/* Every case in turn on one backend, the file checked after each. */
static void
test_writes (char *path, uint64_t window, bool direct_on)
{
  struct file_location loc;
  struct transfer t = make_transfer (&loc, path, window);
  unsigned char *expected = malloc (FILE_SIZE), *buffer, *back;
  unsigned seed = 8;
  struct backend *b;
  int r;
  void *memory;
  const char *untold;
  char probe[PATH_MAX];
  int fd;

  if (!expected || posix_memalign (&memory, 4096, FILE_SIZE + 4096) != 0) {
    tap_ok (false, "window %" PRIu64 ": memory", window);
    return;
  }
  /* The file: window bytes before the transfer, then its bytes. */
  fill_random (expected, FILE_SIZE, &seed);
  fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  tap_ok (fd >= 0 && ftruncate (fd, (off_t) (window + FILE_SIZE)) == 0
          && pwrite (fd, expected, FILE_SIZE, (off_t) window) == FILE_SIZE,
          "window %" PRIu64 ": create %s", window, path);
  if (fd >= 0)
    close (fd);
  snprintf (probe, sizeof probe, "%s.probe", path);
  untold = cache_untold (probe);

  backend_set_direct_writes (direct_on);
  b = backend_open (&t, true);
  tap_ok (b != NULL, "window %" PRIu64 ": open", window);
  if (!b) {
    printf ("# %s\n", error_message ());
    goto out;
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct write_case *c = &cases[i];

    buffer = (unsigned char *) memory + c->shift;
    fill_random (buffer, c->count, &seed);
    memcpy (expected + c->offset, buffer, c->count);
    evict (path);
    r = backend_pwrite (b, buffer, c->count, c->offset);
    if (r == 0)
      check_cache (path, window, c, buffer, direct_on, untold);
    tap_ok (r == 0 && file_equals (path, window, expected),
            "window %" PRIu64 ": %s: %zu bytes at %" PRIu64
            " land exactly, nothing else changes", window, c->name,
            c->count, c->offset);
  }
  tap_ok (backend_flush (b) == 0, "window %" PRIu64 ": flush", window);
  /* Reads after the writes, into a buffer at an odd address. */
  back = (unsigned char *) memory + 3;
  tap_ok (backend_pread (b, back, FILE_SIZE - 3, 3) == 0
          && memcmp (back, expected + 3, FILE_SIZE - 3) == 0,
          "window %" PRIu64 ": read back on the same backend", window);
  backend_close (b);
 out:
  free (memory);
  free (expected);
}

int
main (void)
{
  const char *base = getenv ("TMPDIR");
  char dir[PATH_MAX - 64], path[PATH_MAX - 8];
  long page = sysconf (_SC_PAGESIZE);

  page_size = page > 0 ? (size_t) page : 4096;

  snprintf (dir, sizeof dir, "%s/test-backend-file-write.XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (dir) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  snprintf (path, sizeof path, "%s/image", dir);
  for (int direct_on = 1; direct_on >= 0; direct_on--) {
    test_writes (path, 0, direct_on);
    /* Windows off and on a page boundary. */
    test_writes (path, 1000, direct_on);
    test_writes (path, 8192, direct_on);
  }
  unlink (path);
  rmdir (dir);
  return tap_done ();
}
