/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend: a raw image file or a block device, optionally a
 * window [offset, offset + size) inside it.
 *
 * The struct is in backend-file.h; keeping the fd open between
 * requests is backend-file-keep.c.
 *
 * Offsets given to the ops are relative to the window; backend.c has
 * checked them against the window size, so the additions below cannot
 * overflow in practice, but they are checked anyway.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_LINUX_FS_H
#include <linux/fs.h>
#endif

#include "backend.h"
#include "backend-file.h"
#include "error.h"
#include "fullio.h"

/* Each extents call stops after this many extents: backend.c loops, so
 * a very fragmented file never needs a huge list at once. */
#define FILE_EXTENTS_MAX 1024


/* The window-relative range [offset, offset+count) as a file offset. */
static int
file_offset (struct file_backend *fb, const char *what, uint64_t count,
             uint64_t offset, uint64_t *file_off)
{
  uint64_t end;

  if (__builtin_add_overflow (fb->window, offset, file_off)
      || __builtin_add_overflow (*file_off, count, &end)
      || end > INT64_MAX) {
    error_set (ERANGE, "%s %s: offset %" PRIu64 " + %" PRIu64
               " overflows the window at %" PRIu64, what, fb->path, offset,
               count, fb->window);
    return -1;
  }
  return 0;
}

int
file_backend_size (struct file_backend *fb, const struct stat *st,
                   uint64_t *size)
{
  if (S_ISREG (st->st_mode)) {
    *size = (uint64_t) st->st_size;
    return 0;
  }
#if defined (BLKGETSIZE64) && defined (BLKSSZGET)
  if (S_ISBLK (st->st_mode)) {
    int sector_size;

    if (ioctl (fb->fd, BLKGETSIZE64, size) == -1) {
      error_set (errno, "ioctl BLKGETSIZE64 %s", fb->path);
      return -1;
    }
    fb->is_block = true;
    fb->sector_size = 512;
    if (ioctl (fb->fd, BLKSSZGET, &sector_size) == 0 && sector_size > 0)
      fb->sector_size = (unsigned) sector_size;
    return 0;
  }
#endif
  error_set (EINVAL, "%s is not a regular file or a block device", fb->path);
  return -1;
}

void
file_fd_name (const struct file_backend *fb, char *buf, size_t size)
{
  snprintf (buf, size, "/proc/self/fd/%d", fb->fd);
}

/* Whether fd is the inode opened (fb->opened_dev, fb->opened_ino). */
static bool
file_is_opened_inode (const struct file_backend *fb, int fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 && st.st_dev == fb->opened_dev
         && st.st_ino == fb->opened_ino;
}

int
file_open_again (const struct file_backend *fb, int flags)
{
  char name[FILE_FD_NAME_MAX];
  int fd;

  file_fd_name (fb, name, sizeof name);
  fd = open (name, flags | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0 && !file_is_opened_inode (fb, fd)) {
    close (fd);
    errno = ESTALE;
    return -1;
  }
  return fd;
}

/* The descriptor's path was checked against image_roots when it was
 * parsed; a link swapped since could make the open land elsewhere.  What
 * decides is the file actually opened, as the kernel names it (without
 * /proc mounted that name cannot be had, and the open is refused: the
 * safe side). */
static bool
file_opened_confined (struct file_backend *fb)
{
  const char *const *roots = transfer_image_roots ();
  char opened[FILE_FD_NAME_MAX];

  if (roots == NULL)
    return true;
  file_fd_name (fb, opened, sizeof opened);
  return transfer_path_confined (opened, roots);
}

/* Open the file fb->fd (an O_PATH handle, checked) names, for reading
 * or writing, in its place: through /proc/self/fd, which names that
 * inode whatever the path names now.  Without /proc (no image_roots
 * then, or file_opened_confined would have refused) by the path again,
 * refused when that is another file; only there can a link swapped in
 * the meantime still have something else opened (non-blocking, so a
 * FIFO cannot hold the worker). */
static int
file_reopen (struct file_backend *fb, bool writable)
{
  int flags = writable ? O_RDWR : O_RDONLY;
  int fd = file_open_again (fb, flags);

  if (fd == -1 && errno == ENOENT) {
    fd = open (fb->path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0 && !file_is_opened_inode (fb, fd)) {
      close (fd);
      fd = -1;
      errno = ESTALE;
    }
    if (fd >= 0
        && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) == -1) {
      error_set (errno, "open %s: %m", fb->path);
      close (fd);
      return -1;
    }
  }
  if (fd == -1 && errno == ESTALE) {
    error_set (EACCES, "open %s: not the file checked (a link changed "
               "meanwhile?)", fb->path);
    return -1;
  }
  if (fd == -1) {
    error_set (errno, "open %s%s", fb->path, writable ? " for writing" : "");
    return -1;
  }
  close (fb->fd);
  fb->fd = fd;
  return 0;
}

static struct backend *
file_open (const struct transfer *t, bool writable)
{
  const struct file_location *loc = t->location;
  struct file_backend *fb;
  struct stat st;
  uint64_t size;

  if (loc->path == NULL) {
    error_set (EINVAL, "transfer %s: no file path", t->id);
    return NULL;
  }
  fb = calloc (1, sizeof *fb);
  if (fb == NULL) {
    error_set (ENOMEM, "open %s", loc->path);
    return NULL;
  }
  fb->path = loc->path;
  fb->window = loc->offset;
  fb->direct_fd = -1;
  fb->no_direct = !backend_direct_writes ();

  /* First only a handle on what the path names (O_PATH: no open of
   * the file itself), so that what is not an image, or not inside
   * image_roots, is refused before it is opened: opening a FIFO wakes
   * its writer, opening some devices has effects of its own. */
  fb->fd = open (fb->path, O_PATH | O_CLOEXEC);
  if (fb->fd == -1) {
    error_set (errno, "open %s%s", fb->path, writable ? " for writing" : "");
    goto error;
  }
  if (fstat (fb->fd, &st) == -1) {
    error_set (errno, "fstat %s", fb->path);
    goto error;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    error_set (EINVAL, "%s is not a regular file or a block device",
               fb->path);
    goto error;
  }
  fb->opened_dev = st.st_dev;
  fb->opened_ino = st.st_ino;
  if (!file_opened_confined (fb)) {
    error_set (EACCES, "open %s: the file opened is outside image_roots "
               "(a link changed since the descriptor was checked?)", fb->path);
    goto error;
  }
  /* No fallback to read-only: a writable open means the client asked to
   * write, and a silent downgrade would only fail later. */
  /* st still describes it: the same inode. */
  if (file_reopen (fb, writable) == -1)
    goto error;
  if (file_backend_size (fb, &st, &size) == -1)
    goto error;
  if (fb->window > size) {
    error_set (EINVAL, "transfer %s: offset %" PRIu64 " is beyond the end "
               "of %s (size %" PRIu64 ")", t->id, fb->window, fb->path, size);
    goto error;
  }
  fb->backend.size = size - fb->window;
  return &fb->backend;

 error:
  if (fb->fd >= 0)
    close (fb->fd);
  free (fb);
  return NULL;
}

static void
file_close (struct backend *b)
{
  struct file_backend *fb = to_file (b);

  file_direct_close (fb);
  close (fb->fd);
  free (fb->handoff_path);
  free (fb);
}

static int
file_can_write (struct backend *b)
{
  return b->writable;
}

static int
file_can_extents (struct backend *b)
{
  return 1;
}

static int
file_pread (struct backend *b, void *buf, size_t count, uint64_t offset)
{
  struct file_backend *fb = to_file (b);
  uint64_t off;

  if (file_offset (fb, "pread", count, offset, &off) == -1)
    return -1;
  if (full_pread (fb->fd, buf, count, off) == -1) {
    error_set (errno, "pread %s at %" PRIu64, fb->path, off);
    return -1;
  }
  return 0;
}

/* An upload written into the page cache would only be written back when
 * the kernel gets to it, or at the final fdatasync (flush=y), so the disk
 * sat idle while the network brought the image and the client then
 * waited for the whole image to reach the disk.  Instead the writeback
 * of each write starts at once, and then waits for the write before it
 * to be written back: the disk works while the next chunk arrives,
 * dirty pages stay bounded by two writes, and the fdatasync finds little
 * left to do.  It does not make anything stable: flush
 * still does that.  Best effort: an error shows at the flush. */
static void
file_start_writeback (struct file_backend *fb, uint64_t offset,
                      uint64_t length)
{
  if (fb->no_sync_file_range)
    return;
  if (sync_file_range (fb->fd, (off_t) offset, (off_t) length,
                       SYNC_FILE_RANGE_WRITE) == -1) {
    /* Not every file system (or a block device driver) has it. */
    fb->no_sync_file_range = errno == ENOSYS || errno == EINVAL
                             || errno == ESPIPE;
    return;
  }
  if (fb->written_length > 0)
    (void) sync_file_range (fb->fd, (off_t) fb->written_offset,
                            (off_t) fb->written_length,
                            SYNC_FILE_RANGE_WAIT_BEFORE
                            | SYNC_FILE_RANGE_WRITE
                            | SYNC_FILE_RANGE_WAIT_AFTER);
  fb->written_offset = offset;
  fb->written_length = length;
}

/* A buffered write, its writeback started at once. */
static int
file_pwrite_buffered (struct file_backend *fb, const char *buf, size_t count,
                      uint64_t off)
{
  if (count == 0)
    return 0;
  if (full_pwrite (fb->fd, buf, count, off) == -1) {
    error_set (errno, "pwrite %s at %" PRIu64, fb->path, off);
    return -1;
  }
  file_start_writeback (fb, off, count);
  return 0;
}

static int
file_pwrite (struct backend *b, const void *buf, size_t count,
             uint64_t offset)
{
  struct file_backend *fb = to_file (b);
  const char *p = buf;
  size_t head, middle;
  ssize_t direct = 0;
  uint64_t off;

  if (file_offset (fb, "pwrite", count, offset, &off) == -1)
    return -1;
  file_direct_span (fb, p, count, off, &head, &middle);
  if (file_pwrite_buffered (fb, p, head, off) == -1)
    return -1;
  if (middle > 0) {
    direct = file_direct_pwrite (fb, p + head, middle, off + head);
    if (direct == -1)
      return -1;
  }
  head += (size_t) direct;
  return file_pwrite_buffered (fb, p + head, count - head, off + head);
}

/* Errors that say "this method does not exist here", as opposed to a
 * failure of this particular call. */
static bool
is_unsupported (int err)
{
  return err == EOPNOTSUPP || err == ENOTSUP || err == ENOSYS
    || err == ENODEV || err == ENOTTY;
}

/* Try one fallocate mode.  Returns 1 done, 0 try something else, -1
 * error. */
static int
file_try_fallocate (struct file_backend *fb, bool *unsupported, int mode,
                    const char *name, uint64_t count, uint64_t off)
{
#ifdef HAVE_FALLOCATE
  if (*unsupported)
    return 0;
  if (fallocate (fb->fd, mode, (off_t) off, (off_t) count) == 0)
    return 1;
  if (is_unsupported (errno)) {
    *unsupported = true;
    return 0;
  }
  /* EINVAL: an unaligned range on a block device, or a mode this file
   * system refuses for this range; the next method may still work. */
  if (errno == EINVAL)
    return 0;
  error_set (errno, "fallocate %s %s at %" PRIu64 " length %" PRIu64,
             name, fb->path, off, count);
  return -1;
#else
  *unsupported = true;
  return 0;
#endif
}

static int
file_try_blkzeroout (struct file_backend *fb, uint64_t count, uint64_t off)
{
#ifdef BLKZEROOUT
  uint64_t range[2] = { off, count };

  if (!fb->is_block || fb->no_blkzeroout)
    return 0;
  if (off % fb->sector_size != 0 || count % fb->sector_size != 0)
    return 0;
  if (ioctl (fb->fd, BLKZEROOUT, range) == 0)
    return 1;
  if (is_unsupported (errno) || errno == EINVAL) {
    fb->no_blkzeroout = true;
    return 0;
  }
  error_set (errno, "ioctl BLKZEROOUT %s at %" PRIu64 " length %" PRIu64,
             fb->path, off, count);
  return -1;
#else
  return 0;
#endif
}

/* Cheapest first: punch a hole (files, when trimming is allowed), zero
 * the range in place, ask the block layer.  When nothing works, fail
 * with ENOTSUP and backend.c writes zero buffers. */
static int
file_zero (struct backend *b, uint64_t count, uint64_t offset, bool may_trim)
{
  struct file_backend *fb = to_file (b);
  uint64_t off;
  int r;

  if (file_offset (fb, "zero", count, offset, &off) == -1)
    return -1;

#if defined (FALLOC_FL_PUNCH_HOLE) && defined (FALLOC_FL_KEEP_SIZE)
  if (may_trim && !fb->is_block) {
    r = file_try_fallocate (fb, &fb->no_punch_hole,
                            FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            "punch-hole", count, off);
    if (r != 0)
      return r == 1 ? 0 : -1;
  }
#endif
#if defined (FALLOC_FL_ZERO_RANGE) && defined (FALLOC_FL_KEEP_SIZE)
  r = file_try_fallocate (fb, &fb->no_zero_range,
                          FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                          "zero-range", count, off);
  if (r != 0)
    return r == 1 ? 0 : -1;
#endif
  r = file_try_blkzeroout (fb, count, off);
  if (r != 0)
    return r == 1 ? 0 : -1;

  error_set (ENOTSUP, "zero %s: no efficient method at %" PRIu64, fb->path,
             off);
  return -1;
}

static int
file_flush (struct backend *b)
{
  struct file_backend *fb = to_file (b);

  if (fdatasync (fb->fd) == -1) {
    error_set (errno, "fdatasync %s", fb->path);
    return -1;
  }
  return 0;
}

/* Append [start, end) (file offsets) to list in window offsets. */
static int
file_append (struct file_backend *fb, struct extent_list *list,
             uint64_t start, uint64_t end, unsigned flags)
{
  return extent_list_append (list, start - fb->window, end - start, flags);
}

/* lseek with SEEK_DATA or SEEK_HOLE.  Returns 1 and sets *found, 0 when
 * there is no more data (ENXIO), or -1 (errno EINVAL: not supported). */
static int
file_seek (struct file_backend *fb, uint64_t pos, int whence,
           uint64_t *found)
{
  off_t r = lseek (fb->fd, (off_t) pos, whence);

  if (r == -1)
    return errno == ENXIO ? 0 : -1;
  *found = (uint64_t) r;
  return 1;
}

static int
file_extents (struct backend *b, enum extents_context context,
              uint64_t count, uint64_t offset, struct extent_list *list)
{
  struct file_backend *fb = to_file (b);
  uint64_t pos, end, next;
  size_t added = 0;
  int r;

  if (context != EXTENTS_CONTEXT_ZERO) {
    error_set (ENOTSUP, "extents %s: files have no dirty bitmaps", fb->path);
    return -1;
  }
  if (file_offset (fb, "extents", count, offset, &pos) == -1)
    return -1;
  end = pos + count;

  if (fb->is_block || fb->no_seek_data)
    return file_append (fb, list, pos, end, 0);

  while (pos < end && added < FILE_EXTENTS_MAX) {
    /* A hole up to the next data, or to the end when there is none. */
    r = file_seek (fb, pos, SEEK_DATA, &next);
    if (r == -1) {
      if (errno == EINVAL && added == 0) {
        fb->no_seek_data = true;
        return file_append (fb, list, pos, end, 0);
      }
      error_set (errno, "lseek SEEK_DATA %s at %" PRIu64, fb->path, pos);
      return -1;
    }
    if (r == 0 || next > end)
      next = end;
    if (next > pos) {
      if (file_append (fb, list, pos, next, EXTENT_ZERO) == -1)
        return -1;
      added++;
      pos = next;
    }
    if (pos >= end)
      break;

    /* Data up to the next hole; there is always one at end of file. */
    r = file_seek (fb, pos, SEEK_HOLE, &next);
    if (r == -1) {
      error_set (errno, "lseek SEEK_HOLE %s at %" PRIu64, fb->path, pos);
      return -1;
    }
    /* ENXIO: the file shrank under us; the rest reads as nothing. */
    if (r == 0 || next > end)
      next = end;
    if (next <= pos) {
      error_set (EIO, "lseek SEEK_HOLE %s at %" PRIu64 " went backwards",
                 fb->path, pos);
      return -1;
    }
    if (file_append (fb, list, pos, next, 0) == -1)
      return -1;
    added++;
    pos = next;
  }
  return 0;
}

static int
file_data_fd (struct backend *b, uint64_t *base_offset)
{
  struct file_backend *fb = to_file (b);

  *base_offset = fb->window;
  return fb->fd;
}

/* X-Sendfile hands the web server a path, which it opens again; only
 * regular files qualify.  Not the descriptor's path: a link on it could
 * have been swapped since our open (checked against image_roots,
 * file_opened_confined), and the web server would follow the new one.
 * The name the kernel has for the file opened, with every link
 * resolved, and only while it still names that file (same device and
 * inode: the one checked at open, so image_roots need not be asked
 * again); else NULL, and the range is streamed from our fd.  What is
 * left is the moment between this check and the web server's open:
 * directories on an image's path must be writable by administrators
 * only (docs/configuration.md, sendfile). */
static const char *
file_data_path (struct backend *b)
{
  struct file_backend *fb = to_file (b);
  char opened[FILE_FD_NAME_MAX];
  char *resolved;
  struct stat st;

  if (fb->is_block)
    return NULL;
  file_fd_name (fb, opened, sizeof opened);
  resolved = realpath (opened, NULL);
  if (resolved == NULL || stat (resolved, &st) == -1
      || st.st_dev != fb->opened_dev || st.st_ino != fb->opened_ino) {
    free (resolved);
    return NULL;
  }
  free (fb->handoff_path);
  fb->handoff_path = resolved;
  return resolved;
}

const struct backend_ops backend_file_ops = {
  .open = file_open,
  .close = file_close,
  .can_write = file_can_write,
  .can_zero = file_can_write,
  .can_flush = file_can_write,
  .can_extents = file_can_extents,
  /* No can_dirty: files have no dirty bitmaps. */
  .pread = file_pread,
  .pwrite = file_pwrite,
  .zero = file_zero,
  .flush = file_flush,
  .extents = file_extents,
  .data_fd = file_data_fd,
  .data_path = file_data_path,
  .can_keep = file_backend_can_keep,
  .reuse = file_backend_reuse,
};
