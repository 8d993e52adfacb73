/* SPDX-License-Identifier: Apache-2.0 */
/* A file backend kept between requests (backend_release, backend_open,
 * backend_kept_tick) on real files in $TMPDIR: given back only while the
 * path names the file it opened, with the size it has now, and let go of
 * when the descriptor changes or the transfer is no longer wanted.  A
 * kept backend is told from a new one by its cached capability (a new
 * open has asked nothing yet). */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-registry.h"
#include "error.h"
#include "tap.h"

#define SIZE 65536u

static char tmpdir[PATH_MAX - 64];
static bool transfer_wanted = true;

static bool
still_wanted (const struct transfer *t)
{
  return transfer_wanted && strcmp (t->id, "keep") == 0;
}

/* A file of n bytes, every byte fill. */
static int
write_file (const char *path, size_t n, int fill)
{
  char *buf = malloc (n);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok;

  memset (buf, fill, n);
  ok = fd >= 0 && write (fd, buf, n) == (ssize_t) n;
  if (fd >= 0)
    close (fd);
  free (buf);
  return ok ? 0 : -1;
}

static struct transfer
make_transfer (struct file_location *loc, char *path)
{
  struct transfer t;

  memset (&t, 0, sizeof t);
  strcpy (t.id, "keep");
  loc->path = path;
  loc->offset = 0;
  t.type = backend_type_find ("file");
  t.location = loc;
  t.ops = TRANSFER_OP_READ;
  t.spool_ino = 1;
  return t;
}

/* Open t read-only, read its first byte into *byte; was it kept? */
static struct backend *
open_and_read (struct transfer *t, bool *kept, unsigned char *byte)
{
  struct backend *b = backend_open (t, false);

  if (b == NULL) {
    printf ("# open: %s\n", error_message ());
    return NULL;
  }
  *kept = b->cached_can_extents == 1;
  if (backend_pread (b, byte, 1, b->size - 1) == -1)
    printf ("# pread: %s\n", error_message ());
  backend_can_extents (b);
  return b;
}

int
main (void)
{
  const char *base = getenv ("TMPDIR");
  char path[PATH_MAX], other[PATH_MAX];
  struct file_location loc;
  struct transfer t;
  struct backend *b;
  unsigned char byte = 0;
  bool kept;

  snprintf (tmpdir, sizeof tmpdir, "%s/test-backend-file-keep.XXXXXX",
            base && *base ? base : "/tmp");
  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  snprintf (path, sizeof path, "%s/image", tmpdir);
  snprintf (other, sizeof other, "%s/image.new", tmpdir);
  backend_set_cancel_check (still_wanted);
  t = make_transfer (&loc, path);

  tap_ok (write_file (path, SIZE, 'a') == 0, "image written");
  b = open_and_read (&t, &kept, &byte);
  tap_ok (b != NULL && !kept && byte == 'a', "first open is a new one");
  backend_release (b);
  tap_ok (backend_kept_idle_ms () > 0, "released: kept");
  b = open_and_read (&t, &kept, &byte);
  tap_ok (b != NULL && kept && byte == 'a', "second open: the kept one");

  /* The same file, longer: kept, with the new size. */
  backend_release (b);
  tap_ok (write_file (other, 2 * SIZE, 'b') == 0
          && truncate (path, 2 * SIZE) == 0, "image grown in place");
  b = open_and_read (&t, &kept, &byte);
  tap_ok (b != NULL && kept && b->size == 2 * SIZE && byte == 0,
          "grown image: kept, size %llu", b ? (unsigned long long) b->size : 0);

  /* Another file renamed over the path: never the old fd. */
  backend_release (b);
  tap_ok (rename (other, path) == 0, "image replaced");
  b = open_and_read (&t, &kept, &byte);
  tap_ok (b != NULL && !kept && byte == 'b', "replaced image: opened again");

  /* Another descriptor (the spool file replaced): opened again. */
  backend_release (b);
  t.spool_ino = 2;
  b = open_and_read (&t, &kept, &byte);
  tap_ok (b != NULL && !kept, "changed descriptor: opened again");

  /* Writable access is another open. */
  backend_release (b);
  t.ops |= TRANSFER_OP_WRITE;
  b = backend_open (&t, true);
  tap_ok (b != NULL && b->cached_can_extents == -2 && b->writable,
          "writable after read-only: opened again");
  backend_close (b);
  tap_ok (backend_kept_idle_ms () == -1, "nothing kept after a close");

  /* Deleted: the path names nothing, the open says so. */
  t.ops = TRANSFER_OP_READ;
  b = open_and_read (&t, &kept, &byte);
  backend_release (b);
  unlink (path);
  tap_ok (backend_open (&t, false) == NULL, "image deleted: open fails");
  tap_ok (backend_kept_idle_ms () == -1, "image deleted: nothing kept");

  /* Cancelled: the tick lets go within about a second, without a
   * request. */
  tap_ok (write_file (path, SIZE, 'c') == 0, "image written again");
  b = open_and_read (&t, &kept, &byte);
  backend_release (b);
  {
    int wait_ms = backend_kept_tick ();

    tap_ok (wait_ms > 0 && wait_ms <= 1000, "tick: look again in %d ms",
            wait_ms);
    transfer_wanted = false;
    usleep ((unsigned) wait_ms * 1000 + 50000);
    tap_ok (backend_kept_tick () == -1 && backend_kept_idle_ms () == -1,
            "tick: a cancelled transfer's image is let go of");
  }

  unlink (path);
  rmdir (tmpdir);
  return tap_done ();
}
