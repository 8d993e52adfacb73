/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend kept open between requests (backend.h: can_keep,
 * reuse).  Small ranged reads cost an open, an fstat, two fcntl and a
 * close each, a third of a worker's system calls for 4 KiB; a kept fd
 * costs one stat of the path instead.
 *
 * The kept fd must never serve a file the path no longer names: an
 * operator may replace the image (a new file renamed over it, a link
 * pointed elsewhere) while the descriptor stays the same.  So the path
 * is looked at again (stat, following links as open does) and the fd
 * is reused only when the path still names the inode it opened.  The
 * inode number cannot have been handed to another file meanwhile: the
 * open fd keeps the inode alive.  The size is taken again, since the
 * same file may have grown or shrunk.  The image_roots check of the
 * open stays valid: it was made for this very inode, and the descriptor
 * (the path) is unchanged, or backend.c would not offer it.
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "backend.h"
#include "backend-file.h"
#include "log.h"

bool
file_backend_can_keep (struct backend *b)
{
  return to_file (b)->fd >= 0;
}

bool
file_backend_reuse (struct backend *b, const struct transfer *t)
{
  struct file_backend *fb = to_file (b);
  const struct file_location *loc = t->location;
  struct stat st;
  uint64_t size;

  if (loc->path == NULL || stat (loc->path, &st) == -1) {
    log_debug ("open: transfer %s: the kept image is gone, opening again",
               t->id);
    return false;
  }
  if (st.st_dev != fb->opened_dev || st.st_ino != fb->opened_ino) {
    log_debug ("open: transfer %s: %s names another file now, opening "
               "again", t->id, loc->path);
    return false;
  }
  /* The open's own checks (a window beyond the end) say why. */
  if (file_backend_size (fb, &st, &size) == -1 || loc->offset > size)
    return false;
  /* The old descriptor's strings are freed: take the new one's. */
  fb->path = loc->path;
  fb->window = loc->offset;
  fb->backend.own_size = size - loc->offset;
  /* Writeback of the previous request's writes is not this one's to
   * wait for. */
  fb->written_offset = fb->written_length = 0;
  return true;
}
