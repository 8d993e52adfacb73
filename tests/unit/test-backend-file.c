/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend through backend.c, on real files in $TMPDIR (and a
 * loop device when one can be set up). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-registry.h"
#include "error.h"
#include "extents.h"
#include "extents-check.h"
#include "tap.h"

#define KiB 1024u
#define MiB (1024u * 1024)
#define GiB (UINT64_C (1024) * 1024 * 1024)

/* Room left in PATH_MAX for the file names below. */
static char tmpdir[PATH_MAX - 64];

static void
diag_error (void)
{
  printf ("# last error: errno %d: %s\n", error_errno (), error_message ());
}

static void
tmp_path (char *buf, const char *name)
{
  snprintf (buf, PATH_MAX, "%s/%s", tmpdir, name);
}

/* Bytes that differ from their neighbours and from zero almost
 * everywhere, so a misplaced read or write shows. */
static unsigned char
pattern (uint64_t off)
{
  return (unsigned char) ((off * 131u + (off >> 8) * 7u + 1u) ^ (off >> 16));
}

static void
fill_pattern (unsigned char *buf, uint64_t off, size_t n, unsigned salt)
{
  size_t i;

  for (i = 0; i < n; i++)
    buf[i] = (unsigned char) (pattern (off + i) + salt);
}

static bool
is_pattern (const unsigned char *buf, uint64_t off, size_t n, unsigned salt)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (buf[i] != (unsigned char) (pattern (off + i) + salt))
      return false;
  return true;
}

static bool
is_zero (const unsigned char *buf, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (buf[i] != 0)
      return false;
  return true;
}

/* A file of size bytes, all pattern (salt 0) or sparse. */
static int
create_file (const char *path, uint64_t size, bool with_pattern)
{
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  unsigned char *buf;
  uint64_t off;

  if (fd == -1 || ftruncate (fd, (off_t) size) == -1)
    goto error;
  if (with_pattern) {
    buf = malloc (MiB);
    for (off = 0; off < size; off += MiB) {
      size_t n = size - off < MiB ? (size_t) (size - off) : MiB;

      fill_pattern (buf, off, n, 0);
      if (pwrite (fd, buf, n, (off_t) off) != (ssize_t) n) {
        free (buf);
        goto error;
      }
    }
    free (buf);
  }
  close (fd);
  return 0;
 error:
  printf ("# create_file %s: %s\n", path, strerror (errno));
  if (fd >= 0)
    close (fd);
  return -1;
}

static bool
file_has_pattern (const char *path, uint64_t off, size_t n)
{
  unsigned char *buf = malloc (n ? n : 1);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && pread (fd, buf, n, (off_t) off) == (ssize_t) n
    && is_pattern (buf, off, n, 0);

  if (fd >= 0)
    close (fd);
  free (buf);
  return ok;
}

static uint64_t
file_size_of (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? (uint64_t) st.st_size : UINT64_MAX;
}

/* A transfer made by hand, its location in a small pool (a test keeps a
 * few transfers alive at once; none is ever freed). */
static struct transfer
make_transfer (const char *path, uint64_t offset, bool writable)
{
  static struct file_location pool[8];
  static unsigned next;
  struct file_location *loc = &pool[next++ % 8];
  struct transfer t;

  memset (&t, 0, sizeof t);
  strcpy (t.id, "test-transfer");
  loc->path = (char *) path;
  loc->offset = offset;
  t.type = backend_type_find ("file");
  t.location = loc;
  t.ops = TRANSFER_OP_READ | (writable ? TRANSFER_OP_WRITE : 0);
  t.sparse = true;
  return t;
}

static bool
fails_with (int r, int err)
{
  if (r == -1 && errno == err && error_errno () == err)
    return true;
  printf ("# expected errno %d, got r=%d errno=%d\n", err, r, errno);
  diag_error ();
  return false;
}

/* Read-only open of a whole file: sizes, reads at odd places, writes
 * refused. */
static void
test_read_only (void)
{
  char path[PATH_MAX];
  const uint64_t size = MiB + 123;
  static const struct { uint64_t offset; size_t count; } reads[] = {
    { 0, 1 }, { 1, 1 }, { 4095, 2 }, { 4097, 4096 + 3 }, { 12345, 65537 },
    { MiB + 122, 1 }, { MiB - 1000, 1123 }, { 0, MiB + 123 }, { 777, 0 },
  };
  struct transfer t;
  struct backend *b;
  unsigned char buf[16];
  uint64_t base = 99;
  size_t i;

  tmp_path (path, "ro.img");
  if (create_file (path, size, true) == -1) {
    tap_ok (false, "read-only: create file");
    return;
  }
  t = make_transfer (path, 0, false);
  b = backend_open (&t, false);
  tap_ok (b != NULL, "read-only: open");
  if (b == NULL) {
    diag_error ();
    return;
  }
  tap_ok (b->size == size, "read-only: size %" PRIu64, b->size);
  tap_ok (b->max_request == 32 * MiB, "read-only: default max_request");
  tap_ok (b->transfer == &t && !b->writable, "read-only: transfer and mode");
  tap_ok (backend_can_write (b) == 0, "read-only: can_write 0");
  tap_ok (backend_can_zero (b) == 0, "read-only: can_zero 0");
  tap_ok (backend_can_flush (b) == 0, "read-only: can_flush 0");
  tap_ok (backend_can_extents (b) == 1, "read-only: can_extents 1");
  tap_ok (backend_can_dirty (b) == 0, "read-only: can_dirty 0");
  tap_ok (b->cached_can_extents == 1 && b->cached_can_dirty == 0,
          "read-only: capabilities cached");

  for (i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    unsigned char *p = malloc (reads[i].count + 1);
    int r = backend_pread (b, p, reads[i].count, reads[i].offset);

    tap_ok (r == 0 && is_pattern (p, reads[i].offset, reads[i].count, 0),
            "read-only: pread %zu at %" PRIu64, reads[i].count,
            reads[i].offset);
    free (p);
  }

  memset (buf, 1, sizeof buf);
  tap_ok (fails_with (backend_pwrite (b, buf, sizeof buf, 0), EROFS),
          "read-only: pwrite is EROFS");
  tap_ok (strstr (error_message (), "read-only") != NULL,
          "read-only: message says read-only: %s", error_message ());
  tap_ok (fails_with (backend_zero (b, 4096, 0), EROFS),
          "read-only: zero is EROFS");
  tap_ok (fails_with (backend_flush (b), EROFS),
          "read-only: flush is EROFS, like a write");
  tap_ok (backend_data_fd (b, &base) >= 0 && base == 0,
          "read-only: data_fd with base 0");
  tap_ok (file_has_pattern (path, 0, (size_t) size),
          "read-only: file unchanged");
  backend_close (b);
}

/* The path handed to the web server (X-Sendfile) is the file opened,
 * every link resolved, and none once the name no longer leads to it. */
static void
test_data_path (void)
{
  char real[PATH_MAX], link[PATH_MAX], moved[PATH_MAX];
  char *expected;
  const char *got;
  struct transfer t;
  struct backend *b;

  tmp_path (real, "dp-real.img");
  tmp_path (link, "dp-link.img");
  tmp_path (moved, "dp-moved.img");
  if (create_file (real, 8192, true) == -1 || symlink (real, link) == -1) {
    tap_ok (false, "data_path: create file and link");
    return;
  }
  expected = realpath (real, NULL);
  t = make_transfer (link, 0, false);
  b = backend_open (&t, false);
  if (b == NULL || expected == NULL) {
    tap_ok (false, "data_path: open through the link");
    diag_error ();
    free (expected);
    return;
  }
  got = backend_data_path (b);
  tap_ok (got != NULL && strcmp (got, expected) == 0,
          "data_path: the file opened, not the link (%s)", got ? got : "none");
  /* Another file under the name now: not what our fd reads. */
  if (rename (real, moved) == -1 || create_file (real, 8192, true) == -1)
    tap_ok (false, "data_path: replace the file");
  else {
    got = backend_data_path (b);
    tap_ok (got == NULL || strcmp (got, expected) != 0,
            "data_path: a file replaced under the name is not handed over "
            "(%s)", got ? got : "none");
  }
  backend_close (b);
  unlink (link);
  unlink (real);
  unlink (moved);
  free (expected);
}

/* Out-of-range requests fail with ERANGE before touching anything. */
static void
test_ranges (void)
{
  char path[PATH_MAX];
  static const struct { uint64_t offset; uint64_t count; } bad[] = {
    { 8192, 1 }, { 8191, 2 }, { 0, 8193 }, { 8193, 0 }, { UINT64_MAX, 1 },
    { UINT64_MAX, 0 }, { 1, UINT64_MAX }, { UINT64_MAX - 1, 2 },
    { 4096, UINT64_MAX - 4095 },
  };
  struct transfer t;
  struct backend *b;
  unsigned char buf[16];
  struct extent_list list;
  size_t i;

  tmp_path (path, "range.img");
  if (create_file (path, 8192, true) == -1)
    return;
  t = make_transfer (path, 0, true);
  b = backend_open (&t, true);
  tap_ok (b != NULL, "ranges: open");
  if (b == NULL)
    return;
  extent_list_init (&list);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t off = bad[i].offset, n = bad[i].count;
    /* The range check comes first, so a huge count never reaches buf. */
    size_t count = n > SIZE_MAX ? SIZE_MAX : (size_t) n;

    tap_ok (fails_with (backend_pread (b, buf, count, off), ERANGE),
            "ranges: pread %" PRIu64 " at %" PRIu64 " is ERANGE", n, off);
    tap_ok (fails_with (backend_pwrite (b, buf, count, off), ERANGE),
            "ranges: pwrite %" PRIu64 " at %" PRIu64 " is ERANGE", n, off);
    tap_ok (fails_with (backend_zero (b, n, off), ERANGE),
            "ranges: zero %" PRIu64 " at %" PRIu64 " is ERANGE", n, off);
    tap_ok (fails_with (backend_extents (b, EXTENTS_CONTEXT_ZERO, n, off,
                                         &list), ERANGE),
            "ranges: extents %" PRIu64 " at %" PRIu64 " is ERANGE", n, off);
  }
  tap_ok (list.count == 0, "ranges: no extents appended");
  tap_ok (backend_pread (b, buf, 0, 8192) == 0
          && backend_pwrite (b, buf, 0, 8192) == 0
          && backend_zero (b, 0, 8192) == 0
          && backend_extents (b, EXTENTS_CONTEXT_ZERO, 0, 8192, &list) == 0
          && list.count == 0,
          "ranges: empty requests at the end succeed");
  tap_ok (file_has_pattern (path, 0, 8192) && file_size_of (path) == 8192,
          "ranges: file unchanged");
  extent_list_free (&list);
  backend_close (b);
}

/* A window [offset, offset+size) inside a file: writes stay inside. */
static void
test_window (void)
{
  char path[PATH_MAX];
  const uint64_t file_size = 256 * KiB + 77;
  const uint64_t window = 4096 + 17, size = 100 * KiB + 3;
  static const struct { uint64_t offset; size_t count; } writes[] = {
    { 0, 1 }, { 1, 4095 }, { 4096 * 3 - 1, 4096 + 2 }, { 50000, 33333 },
    { 100 * KiB + 2, 1 }, { 100 * KiB - 10, 13 },
  };
  struct transfer t;
  struct backend *b;
  unsigned char *buf, *file;
  uint64_t base = 0;
  size_t i;
  int fd;
  bool ok;

  tmp_path (path, "window.img");
  if (create_file (path, file_size, true) == -1)
    return;
  t = make_transfer (path, window, true);
  t.has_size = true;
  t.size = size;
  b = backend_open (&t, true);
  tap_ok (b != NULL, "window: open");
  if (b == NULL) {
    diag_error ();
    return;
  }
  tap_ok (b->size == size, "window: size clipped to the descriptor's");
  tap_ok (backend_data_fd (b, &base) >= 0 && base == window,
          "window: data_fd base is the window offset");

  /* Reads see the file shifted by the window. */
  buf = malloc (size);
  tap_ok (backend_pread (b, buf, size, 0) == 0
          && is_pattern (buf, window, size, 0), "window: read whole window");

  /* Writes at odd places (salt 1 makes them differ from the file). */
  ok = true;
  for (i = 0; i < sizeof writes / sizeof writes[0]; i++) {
    fill_pattern (buf, writes[i].offset, writes[i].count, 1);
    if (backend_pwrite (b, buf, writes[i].count, writes[i].offset) == -1)
      ok = false;
  }
  tap_ok (ok, "window: writes succeed");
  tap_ok (backend_flush (b) == 0, "window: flush");
  ok = true;
  for (i = 0; i < sizeof writes / sizeof writes[0]; i++) {
    memset (buf, 0, writes[i].count);
    if (backend_pread (b, buf, writes[i].count, writes[i].offset) == -1
        || !is_pattern (buf, writes[i].offset, writes[i].count, 1))
      ok = false;
  }
  tap_ok (ok, "window: writes read back");
  free (buf);

  /* Check the whole file: the writes landed at window + offset, and
   * every byte outside the window is untouched. */
  file = malloc (file_size);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  ok = pread (fd, file, file_size, 0) == (ssize_t) file_size;
  close (fd);
  tap_ok (ok && is_pattern (file, 0, window, 0),
          "window: bytes before the window untouched");
  tap_ok (ok && is_pattern (file + window + size, window + size,
                            file_size - window - size, 0),
          "window: bytes after the window untouched");
  ok = true;
  for (i = 0; i < sizeof writes / sizeof writes[0]; i++)
    if (!is_pattern (file + window + writes[i].offset, writes[i].offset,
                     writes[i].count, 1))
      ok = false;
  tap_ok (ok, "window: writes landed at window + offset");
  tap_ok (file_size_of (path) == file_size, "window: file size unchanged");
  free (file);
  backend_close (b);

  /* Without a descriptor size the window runs to the end of the file. */
  t.has_size = false;
  b = backend_open (&t, false);
  tap_ok (b != NULL && b->size == file_size - window,
          "window: no descriptor size: file size - offset");
  backend_close (b);

  /* Window at exactly the end: an empty transfer. */
  ((struct file_location *) t.location)->offset = file_size;
  b = backend_open (&t, false);
  tap_ok (b != NULL && b->size == 0, "window: offset at end: size 0");
  backend_close (b);
}

/* Descriptors that do not fit the file. */
/* A FIFO, a directory or a character device named as the image: refused
 * at once with a reason, for reading and for writing (a blocking open of
 * a FIFO would hold the worker until some writer came along). */
static void
test_open_not_an_image (void)
{
  char fifo[PATH_MAX];
  const struct {
    const char *what, *path;
  } cases[] = {
    { "a FIFO", fifo },
    { "a directory", "/" },
    { "a character device", "/dev/null" },
  };

  /* Only the read-only FIFO proves the point: an O_RDWR open of a FIFO
   * never blocks on Linux.  A blocking open would hang; the alarm turns
   * that into a failure. */
  alarm (10);
  tmp_path (fifo, "image.fifo");
  if (mkfifo (fifo, 0600) == -1) {
    tap_ok (false, "mkfifo %s: %s", fifo, strerror (errno));
    return;
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int writable = 0; writable < 2; writable++) {
      struct transfer t = make_transfer (cases[i].path, 0, writable);
      struct backend *b = backend_open (&t, writable);

      tap_ok (b == NULL && errno != 0
              && (strstr (error_message (), "not a regular file") != NULL
                  || (i == 1 && errno == EISDIR)),
              "open %s (%s) is refused without blocking: %s", cases[i].what,
              writable ? "writable" : "read-only", error_message ());
      backend_close (b);
    }
  }

  /* Refused before it is opened: a writer waiting for a reader of the
   * FIFO is not woken (an open for reading would have let it go on). */
  {
    struct transfer t = make_transfer (fifo, 0, false);
    struct backend *b;
    int ready[2], status;
    pid_t writer;
    bool woken;
    char c;

    if (pipe (ready) == -1 || (writer = fork ()) == -1) {
      tap_ok (false, "open a FIFO: pipe or fork: %s", strerror (errno));
      goto done;
    }
    if (writer == 0) {
      int fd;

      close (ready[0]);
      if (write (ready[1], "x", 1) != 1)
        _exit (3);
      fd = open (fifo, O_WRONLY);   /* blocks until a reader opens */
      _exit (fd == -1 ? 2 : 0);
    }
    close (ready[1]);
    /* The writer is at its open (give it a moment to block there). */
    if (read (ready[0], &c, 1) != 1)
      c = 0;
    close (ready[0]);
    usleep (100000);
    b = backend_open (&t, false);
    backend_close (b);
    usleep (200000);
    woken = waitpid (writer, &status, WNOHANG) == writer;
    tap_ok (c == 'x' && b == NULL && !woken,
            "open a FIFO: refused without opening it (its writer still "
            "waits)");
    if (!woken) {
      kill (writer, SIGKILL);
      waitpid (writer, &status, 0);
    }
  }
 done:
  unlink (fifo);
  alarm (0);
}

static void
test_open_errors (void)
{
  char path[PATH_MAX], missing[PATH_MAX];
  struct transfer t;
  struct backend *b;
  char size_text[32], backend_size_text[32];

  tmp_path (path, "small.img");
  tmp_path (missing, "no-such-file.img");
  if (create_file (path, 10000, true) == -1)
    return;

  t = make_transfer (path, 0, false);
  t.has_size = true;
  t.size = 10001;
  b = backend_open (&t, false);
  tap_ok (b == NULL && fails_with (-1, EINVAL),
          "open: descriptor size > file is EINVAL");
  tap_ok (strstr (error_message (), "10001") != NULL
          && strstr (error_message (), "10000") != NULL,
          "open: message names both sizes: %s", error_message ());

  ((struct file_location *) t.location)->offset = 100;
  t.size = 9901;
  b = backend_open (&t, true);
  tap_ok (b == NULL && fails_with (-1, EINVAL),
          "open: descriptor size > file - offset is EINVAL");
  snprintf (size_text, sizeof size_text, "%d", 9901);
  snprintf (backend_size_text, sizeof backend_size_text, "%d", 9900);
  tap_ok (strstr (error_message (), size_text) != NULL
          && strstr (error_message (), backend_size_text) != NULL,
          "open: message names both sizes: %s", error_message ());

  t.size = 9900;
  b = backend_open (&t, true);
  tap_ok (b != NULL && b->size == 9900, "open: descriptor size = file - offset");
  backend_close (b);

  t.has_size = false;
  ((struct file_location *) t.location)->offset = 10001;
  b = backend_open (&t, false);
  tap_ok (b == NULL && fails_with (-1, EINVAL),
          "open: offset beyond the end of file is EINVAL");

  t = make_transfer (missing, 0, false);
  b = backend_open (&t, false);
  tap_ok (b == NULL && fails_with (-1, ENOENT), "open: missing file is ENOENT");
  tap_ok (strstr (error_message (), missing) != NULL,
          "open: message names the file: %s", error_message ());

  t = make_transfer (tmpdir, 0, false);
  b = backend_open (&t, false);
  tap_ok (b == NULL && fails_with (-1, EINVAL),
          "open: a directory is EINVAL");
  b = backend_open (&t, true);
  tap_ok (b == NULL && fails_with (-1, EINVAL),
          "open: a directory for writing is EINVAL too (refused before "
          "any open)");

  t = make_transfer (NULL, 0, false);
  b = backend_open (&t, false);
  tap_ok (b == NULL && fails_with (-1, EINVAL), "open: no path is EINVAL");

  /* Root ignores file modes, so EACCES can only be seen as a user. */
  if (geteuid () == 0)
    tap_ok (true, "# SKIP open: read-only file for writing: running as root");
  else {
    chmod (path, 0444);
    t = make_transfer (path, 0, true);
    b = backend_open (&t, true);
    tap_ok (b == NULL && fails_with (-1, EACCES),
            "open: read-only file for writing is EACCES, no downgrade");
  }
}

/* Requests larger than max_request are split. */
static void
test_split (void)
{
  char path[PATH_MAX];
  const size_t n = 3 * 4096 + 1001;
  struct transfer t;
  struct backend *b;
  unsigned char *buf;

  tmp_path (path, "split.img");
  if (create_file (path, 64 * KiB, true) == -1)
    return;
  t = make_transfer (path, 0, true);
  b = backend_open (&t, true);
  if (b == NULL) {
    tap_ok (false, "split: open");
    return;
  }
  b->max_request = 4096;
  buf = malloc (n);
  fill_pattern (buf, 555, n, 3);
  tap_ok (backend_pwrite (b, buf, n, 555) == 0, "split: pwrite");
  memset (buf, 0, n);
  tap_ok (backend_pread (b, buf, n, 555) == 0 && is_pattern (buf, 555, n, 3),
          "split: pread");
  tap_ok (file_has_pattern (path, 0, 555)
          && file_has_pattern (path, 555 + n, 64 * KiB - 555 - n),
          "split: neighbours untouched");
  free (buf);
  backend_close (b);
}

/* True when this file system reports holes with SEEK_HOLE. */
static bool
have_seek_hole (void)
{
  char path[PATH_MAX];
  int fd;
  off_t data;
  bool ok;

  tmp_path (path, "probe.img");
  fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd == -1)
    return false;
  ok = ftruncate (fd, 1024 * 1024) == 0 && pwrite (fd, "x", 1, 512 * 1024) == 1;
  data = lseek (fd, 0, SEEK_DATA);
  close (fd);
  unlink (path);
  return ok && data > 0;
}

/* Zeroing: bytes read back zero, neighbours and size untouched; with
 * trimming allowed the range becomes a hole. */
static void
test_zero (const char *dir, const char *label, bool seek_hole)
{
  static const struct {
    bool sparse;
    uint64_t offset, count;
    bool aligned;               /* whole 4 KiB blocks: a hole when trimmed */
  } cases[] = {
    { false, 1, 1, false },
    { false, 4095, 4099, false },
    { false, 8192, 3 * 4096, true },
    { true, 7, 100, false },
    { true, 16 * 4096, 4 * 4096, true },
    { true, 100 * 4096 + 1, 40 * 4096, false },
    { false, 3, 3 * MiB + 5, false },  /* > the 1 MiB zero buffer */
    { true, 0, 4 * MiB, true },         /* the whole file */
  };
  const uint64_t size = 4 * MiB;
  char path[PATH_MAX];
  size_t i;

  snprintf (path, sizeof path, "%s/zero.img", dir);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t off = cases[i].offset, n = cases[i].count;
    struct transfer t;
    struct backend *b;
    unsigned char *buf;
    bool ok;

    if (create_file (path, size, true) == -1) {
      tap_ok (false, "zero %s: create", label);
      return;
    }
    t = make_transfer (path, 0, true);
    t.sparse = cases[i].sparse;
    b = backend_open (&t, true);
    if (b == NULL) {
      tap_ok (false, "zero %s: open", label);
      diag_error ();
      continue;
    }
    /* Small steps so the loops in backend.c run. */
    b->max_request = MiB + 4096;
    ok = backend_zero (b, n, off) == 0;
    if (!ok)
      diag_error ();
    tap_ok (ok, "zero %s (%s): %" PRIu64 " at %" PRIu64, label,
            cases[i].sparse ? "trim" : "no trim", n, off);
    buf = malloc (n);
    tap_ok (backend_pread (b, buf, n, off) == 0 && is_zero (buf, n),
            "zero %s: %" PRIu64 " at %" PRIu64 " reads back zeroes", label,
            n, off);
    free (buf);
    tap_ok (file_has_pattern (path, 0, off)
            && file_has_pattern (path, off + n, size - off - n),
            "zero %s: %" PRIu64 " at %" PRIu64 ": neighbours untouched",
            label, n, off);
    tap_ok (file_size_of (path) == size,
            "zero %s: %" PRIu64 " at %" PRIu64 ": size unchanged", label, n,
            off);
    if (cases[i].sparse && cases[i].aligned) {
      if (!seek_hole)
        tap_ok (true, "# SKIP zero %s: hole check: no SEEK_HOLE here",
                label);
      else {
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        off_t hole = lseek (fd, (off_t) off, SEEK_HOLE);
        off_t data = lseek (fd, (off_t) off, SEEK_DATA);

        close (fd);
        tap_ok (hole == (off_t) off
                && (off + n == size ? data == -1 : data == (off_t) (off + n)),
                "zero %s: %" PRIu64 " at %" PRIu64 " is a hole", label, n,
                off);
      }
    }
    backend_close (b);
  }
  unlink (path);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: without trimming, zeroing falls
 * back to writing zero buffers. */
static void
test_zero_tmpfs (void)
{
  char dir[] = "/dev/shm/test-backend-file.XXXXXX";

  if (mkdtemp (dir) == NULL) {
    tap_ok (true, "# SKIP zero on tmpfs: no /dev/shm");
    return;
  }
  test_zero (dir, "tmpfs", true);
  rmdir (dir);
}

static void
write_at (const char *path, uint64_t off, size_t n)
{
  unsigned char *buf = malloc (n);
  int fd = open (path, O_WRONLY | O_CLOEXEC);

  fill_pattern (buf, off, n, 0);
  if (fd == -1 || pwrite (fd, buf, n, (off_t) off) != (ssize_t) n)
    printf ("# write_at %s: %s\n", path, strerror (errno));
  if (fd >= 0)
    close (fd);
  free (buf);
}

/* Extents of a sparse file, whole and through windows and sub-ranges. */
static void
test_extents (bool seek_hole)
{
  static const struct {
    const char *name;
    uint64_t window, offset, count;
    size_t n;
    struct extent expect[8];
  } cases[] = {
    { "whole file", 0, 0, MiB, 6,
      { { 0, 8192, EXTENT_ZERO }, { 8192, 4096, 0 },
        { 12288, 65536 - 12288, EXTENT_ZERO }, { 65536, 8192, 0 },
        { 73728, MiB - 4096 - 73728, EXTENT_ZERO }, { MiB - 4096, 4096, 0 } } },
    { "unaligned sub-range", 0, 100, 70000 - 100, 4,
      { { 100, 8092, EXTENT_ZERO }, { 8192, 4096, 0 },
        { 12288, 65536 - 12288, EXTENT_ZERO }, { 65536, 70000 - 65536, 0 } } },
    { "inside one data extent", 0, 66000, 10, 1, { { 66000, 10, 0 } } },
    { "inside one hole", 0, 20000, 30000, 1,
      { { 20000, 30000, EXTENT_ZERO } } },
    { "window at 8192", 8192, 0, MiB - 8192, 5,
      { { 0, 4096, 0 }, { 4096, 65536 - 12288, EXTENT_ZERO },
        { 65536 - 8192, 8192, 0 },
        { 73728 - 8192, MiB - 4096 - 73728, EXTENT_ZERO },
        { MiB - 4096 - 8192, 4096, 0 } } },
    { "window at 10000, up to the last data", 10000, 0, MiB - 10000, 5,
      { { 0, 2288, 0 }, { 2288, 65536 - 12288, EXTENT_ZERO },
        { 65536 - 10000, 8192, 0 },
        { 73728 - 10000, MiB - 4096 - 73728, EXTENT_ZERO },
        { MiB - 4096 - 10000, 4096, 0 } } },
  };
  char path[PATH_MAX];
  struct transfer t;
  struct backend *b;
  struct extent_list list;
  size_t i;

  if (!seek_hole) {
    tap_ok (true, "# SKIP extents: the tmp file system lacks SEEK_HOLE");
    return;
  }
  tmp_path (path, "sparse.img");
  if (create_file (path, MiB, false) == -1)
    return;
  write_at (path, 8192, 4096);
  write_at (path, 65536, 8192);
  write_at (path, MiB - 1, 1);

  extent_list_init (&list);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    t = make_transfer (path, cases[i].window, false);
    b = backend_open (&t, false);
    if (b == NULL) {
      tap_ok (false, "extents: %s: open", cases[i].name);
      continue;
    }
    extent_list_clear (&list);
    tap_ok (backend_extents (b, EXTENTS_CONTEXT_ZERO, cases[i].count,
                             cases[i].offset, &list) == 0
            && extents_equal (&list, cases[i].expect, cases[i].n,
                              cases[i].name),
            "extents: %s", cases[i].name);
    backend_close (b);
  }

  /* A list that already holds items is appended to, with merging. */
  t = make_transfer (path, 0, false);
  b = backend_open (&t, false);
  extent_list_clear (&list);
  backend_extents (b, EXTENTS_CONTEXT_ZERO, 1000, 0, &list);
  tap_ok (backend_extents (b, EXTENTS_CONTEXT_ZERO, 9000, 1000, &list) == 0
          && list.count == 2 && list.items[0].length == 8192
          && list.items[1].start == 8192 && list.items[1].length == 1808,
          "extents: second call appends and merges");

  /* Files have no dirty bitmaps. */
  extent_list_clear (&list);
  tap_ok (fails_with (backend_extents (b, EXTENTS_CONTEXT_DIRTY, 4096, 0,
                                       &list), ENOTSUP) && list.count == 0,
          "extents: dirty context is ENOTSUP");
  backend_close (b);
  extent_list_free (&list);
  unlink (path);
}

/* More extents than one file backend call returns: backend.c loops. */
static void
test_many_extents (bool seek_hole)
{
  const size_t pairs = 3000;
  char path[PATH_MAX];
  struct transfer t;
  struct backend *b;
  struct extent_list list;
  unsigned char block[4096];
  size_t i;
  int fd;
  bool ok;

  if (!seek_hole) {
    tap_ok (true, "# SKIP many extents: the tmp file system lacks SEEK_HOLE");
    return;
  }
  tmp_path (path, "many.img");
  if (create_file (path, pairs * 8192, false) == -1)
    return;
  memset (block, 0xaa, sizeof block);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  for (i = 0; i < pairs; i++)
    if (pwrite (fd, block, 4096, (off_t) (i * 8192 + 4096)) != 4096)
      break;
  close (fd);

  t = make_transfer (path, 0, false);
  b = backend_open (&t, false);
  extent_list_init (&list);
  tap_ok (b != NULL && backend_extents (b, EXTENTS_CONTEXT_ZERO, b->size, 0,
                                        &list) == 0,
          "many extents: succeeds");
  ok = list.count == 2 * pairs;
  for (i = 0; ok && i < list.count; i++)
    ok = list.items[i].start == i * 4096 && list.items[i].length == 4096
      && list.items[i].flags == (i % 2 ? 0u : EXTENT_ZERO);
  tap_ok (ok, "many extents: %zu alternating 4 KiB extents", list.count);
  extent_list_free (&list);
  backend_close (b);
  unlink (path);
}

static int
answer_no (struct backend *b)
{
  return 0;
}

/* backend.c's defaults for missing ops, seen over the real file
 * backend: a copy of its ops table with some ops taken away. */
static void
test_generic_defaults (bool seek_hole)
{
  struct backend_ops ops = backend_file_ops;
  char path[PATH_MAX];
  struct transfer t;
  struct backend *b;
  struct extent_list list;
  unsigned char *buf;
  size_t i;
  bool ok;
  int fd;

  ops.can_write = NULL;
  ops.can_flush = NULL;
  ops.zero = NULL;
  ops.can_dirty = answer_no;

  tmp_path (path, "defaults.img");
  if (create_file (path, MiB, false) == -1)
    return;
  write_at (path, 8192, 4096);
  t = make_transfer (path, 0, true);
  b = backend_open (&t, true);
  if (b == NULL) {
    tap_ok (false, "defaults: open");
    return;
  }
  b->ops = &ops;
  tap_ok (backend_can_write (b) == 1, "defaults: no can_write: writable");
  tap_ok (backend_can_flush (b) == 0 && backend_flush (b) == 0,
          "defaults: no can_flush: flush skipped");

  /* No bitmap: allocation extents, all dirty, appended after what the
   * list held without changing it. */
  extent_list_init (&list);
  extent_list_append (&list, 0, 4096, 0);
  {
    static const struct extent expect[] = {
      { 0, 4096, 0 }, { 4096, 4096, EXTENT_ZERO | EXTENT_DIRTY },
      { 8192, 4096, EXTENT_DIRTY },
      { 12288, MiB - 12288, EXTENT_ZERO | EXTENT_DIRTY },
    };

    if (!seek_hole)
      tap_ok (true, "# SKIP defaults: dirty extents: no SEEK_HOLE");
    else
      tap_ok (backend_extents (b, EXTENTS_CONTEXT_DIRTY, MiB - 4096, 4096,
                               &list) == 0
              && extents_equal (&list, expect, 4, "defaults: can_dirty 0"),
              "defaults: can_dirty 0: zero extents marked dirty");
  }

  /* No zero op: zero buffers are written, so the range is allocated. */
  ok = backend_zero (b, 3 * MiB / 4, 4096) == 0;
  buf = malloc (MiB);
  tap_ok (ok && backend_pread (b, buf, 3 * MiB / 4, 4096) == 0
          && is_zero (buf, 3 * MiB / 4), "defaults: no zero op: zeroes");
  free (buf);
  if (seek_hole) {
    fd = open (path, O_RDONLY | O_CLOEXEC);
    tap_ok (lseek (fd, 4096, SEEK_DATA) == 4096
            && lseek (fd, 4096, SEEK_HOLE) >= 4096 + 3 * MiB / 4,
            "defaults: no zero op: the range was written");
    close (fd);
  }

  /* No extents op: everything is data (and dirty when asked). */
  ops.extents = NULL;
  b->cached_can_extents = -2;
  extent_list_clear (&list);
  ok = backend_extents (b, EXTENTS_CONTEXT_ZERO, 5000, 3, &list) == 0
    && list.count == 1 && list.items[0].start == 3
    && list.items[0].length == 5000 && list.items[0].flags == 0;
  extent_list_clear (&list);
  tap_ok (ok && backend_extents (b, EXTENTS_CONTEXT_DIRTY, 5000, 3, &list) == 0
          && list.count == 1 && list.items[0].flags == EXTENT_DIRTY,
          "defaults: no extents op: one data extent");

  /* Capabilities are asked once. */
  ops.can_dirty = NULL;
  for (i = 0, ok = true; i < 3; i++)
    ok = ok && backend_can_dirty (b) == 0;
  tap_ok (ok, "defaults: cached can_dirty survives the op going away");
  extent_list_clear (&list);
  tap_ok (fails_with (backend_extents (b, EXTENTS_CONTEXT_DIRTY, 1, 0, &list),
                      ENOTSUP), "defaults: no can_dirty op: ENOTSUP");

  b->ops = &backend_file_ops;
  extent_list_free (&list);
  backend_close (b);
  unlink (path);
}

/* Offsets past 2 GiB and 4 GiB: nothing truncates to 32 bits. */
static void
test_large_file (bool seek_hole)
{
  const uint64_t size = 5 * GiB, at = 2 * GiB + GiB / 2 + 3;
  const size_t n = MiB + 3;
  char path[PATH_MAX];
  struct transfer t;
  struct backend *b;
  struct extent_list list;
  unsigned char *buf;

  tmp_path (path, "large.img");
  if (create_file (path, size, false) == -1) {
    tap_ok (true, "# SKIP large file: cannot create a 5 GiB sparse file");
    return;
  }
  t = make_transfer (path, 0, true);
  b = backend_open (&t, true);
  tap_ok (b != NULL && b->size == size, "large file: size 5 GiB");
  if (b == NULL)
    return;
  buf = malloc (n);
  fill_pattern (buf, at, n, 5);
  tap_ok (backend_pwrite (b, buf, n, at) == 0, "large file: write at 2.5 GiB");
  fill_pattern (buf, 4 * GiB + 1, 4096, 6);
  tap_ok (backend_pwrite (b, buf, 4096, 4 * GiB + 1) == 0,
          "large file: write past 4 GiB");
  memset (buf, 0, n);
  tap_ok (backend_pread (b, buf, n, at) == 0 && is_pattern (buf, at, n, 5),
          "large file: read back at 2.5 GiB");
  tap_ok (backend_pread (b, buf, 4096, 4 * GiB + 1) == 0
          && is_pattern (buf, 4 * GiB + 1, 4096, 6),
          "large file: read back past 4 GiB");
  tap_ok (backend_pread (b, buf, 4096, GiB / 2) == 0 && is_zero (buf, 4096),
          "large file: the hole reads zeroes");
  tap_ok (file_size_of (path) == size, "large file: size unchanged");

  extent_list_init (&list);
  if (!seek_hole)
    tap_ok (true, "# SKIP large file extents: no SEEK_HOLE");
  else {
    /* The write covers [at, at+n): whole blocks from 2.5 GiB to the
     * block holding at + n - 1. */
    uint64_t data_start = at & ~UINT64_C (4095);
    uint64_t data_end = (at + n + 4095) & ~UINT64_C (4095);

    tap_ok (backend_extents (b, EXTENTS_CONTEXT_ZERO, 3 * GiB, 0, &list) == 0
            && list.count == 3
            && list.items[0].start == 0 && list.items[0].length == data_start
            && list.items[0].flags == EXTENT_ZERO
            && list.items[1].start == data_start
            && list.items[1].length == data_end - data_start
            && list.items[1].flags == 0
            && list.items[2].start == data_end
            && list.items[2].length == 3 * GiB - data_end
            && list.items[2].flags == EXTENT_ZERO,
            "large file: extents of the first 3 GiB");
  }
  extent_list_free (&list);
  free (buf);
  backend_close (b);
  unlink (path);
}

/* Run a command line quietly; returns its exit status or -1. */
static int
run (const char *command)
{
  int r = system (command);

  return r == -1 || !WIFEXITED (r) ? -1 : WEXITSTATUS (r);
}

/* A loop device over a file: BLKGETSIZE64 sizing, BLKZEROOUT, all-data
 * extents.  Needs root and a working losetup. */
static void
test_block_device (void)
{
  char path[PATH_MAX], command[PATH_MAX + 64], device[64] = "";
  const uint64_t size = 8 * MiB;
  struct transfer t;
  struct backend *b;
  struct extent_list list;
  unsigned char *buf;
  FILE *fp;

  if (geteuid () != 0) {
    tap_ok (true, "# SKIP block device: needs root for losetup");
    return;
  }
  tmp_path (path, "loop.img");
  if (create_file (path, size, true) == -1)
    return;
  snprintf (command, sizeof command, "losetup -f --show '%s' 2>/dev/null",
            path);
  fp = popen (command, "r");
  if (fp != NULL) {
    if (fgets (device, sizeof device, fp) == NULL)
      device[0] = '\0';
    if (pclose (fp) != 0)
      device[0] = '\0';
  }
  if (strncmp (device, "/dev/", 5) != 0) {
    tap_ok (true, "# SKIP block device: losetup does not work here");
    unlink (path);
    return;
  }
  device[strcspn (device, "\n")] = '\0';

  t = make_transfer (device, 4096, true);
  t.sparse = true;
  b = backend_open (&t, true);
  tap_ok (b != NULL && b->size == size - 4096,
          "block device: size from BLKGETSIZE64 minus the window");
  if (b != NULL) {
    buf = malloc (MiB);
    fill_pattern (buf, 1000, 5000, 9);
    tap_ok (backend_pwrite (b, buf, 5000, 1000) == 0
            && backend_flush (b) == 0, "block device: write and flush");
    memset (buf, 0, 5000);
    tap_ok (backend_pread (b, buf, 5000, 1000) == 0
            && is_pattern (buf, 1000, 5000, 9), "block device: read back");
    tap_ok (backend_zero (b, MiB, MiB) == 0
            && backend_pread (b, buf, MiB, MiB) == 0 && is_zero (buf, MiB),
            "block device: aligned zero");
    tap_ok (backend_zero (b, 1001, 3 * MiB + 7) == 0
            && backend_pread (b, buf, 1001, 3 * MiB + 7) == 0
            && is_zero (buf, 1001), "block device: unaligned zero");
    extent_list_init (&list);
    tap_ok (backend_extents (b, EXTENTS_CONTEXT_ZERO, b->size, 0, &list) == 0
            && list.count == 1 && list.items[0].flags == 0
            && list.items[0].length == b->size,
            "block device: extents are all data");
    extent_list_free (&list);
    free (buf);
    backend_close (b);
  }
  snprintf (command, sizeof command, "losetup -d '%s'", device);
  tap_ok (run (command) == 0, "block device: detach %s", device);
  /* The window's first 4 KiB and what follows the writes are intact. */
  tap_ok (file_has_pattern (path, 0, 4096 + 1000)
          && file_has_pattern (path, 4096 + 6000, MiB - 4096 - 6000)
          && file_has_pattern (path, 4096 + 2 * MiB,
                               3 * MiB + 7 - 2 * MiB)
          && file_has_pattern (path, 4096 + 3 * MiB + 7 + 1001,
                               size - 4096 - 3 * MiB - 7 - 1001),
          "block device: bytes outside the writes untouched");
  unlink (path);
}

int
main (void)
{
  const char *base = getenv ("TMPDIR");
  bool seek_hole;

  snprintf (tmpdir, sizeof tmpdir, "%s/test-backend-file.XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  seek_hole = have_seek_hole ();

  test_read_only ();
  test_data_path ();
  test_ranges ();
  test_window ();
  test_open_errors ();
  test_open_not_an_image ();
  test_split ();
  test_zero (tmpdir, "tmp", seek_hole);
  test_zero_tmpfs ();
  test_extents (seek_hole);
  test_many_extents (seek_hole);
  test_generic_defaults (seek_hole);
  test_large_file (seek_hole);
  test_block_device ();

  {
    char command[PATH_MAX + 16];

    snprintf (command, sizeof command, "rm -rf '%s'", tmpdir);
    run (command);
  }
  return tap_done ();
}
