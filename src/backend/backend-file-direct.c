/* SPDX-License-Identifier: Apache-2.0 */
/* Large uploads to a file backend written around the page cache
 * (O_DIRECT).
 *
 * A buffered write copies every byte into the page cache, and the
 * kernel writes it back from there: for an upload that is the worker's
 * largest cost (docs/benchmark.md: half of its CPU per GiB, most of it
 * the copy).  A direct write goes from the chunk buffer to the device.
 * So a large write whose buffer and file offset agree modulo the page
 * size goes through a second fd, opened with O_DIRECT on the same inode,
 * all but the bytes before its first page boundary and after its last
 * one, which go through the page cache.  Chunk buffers are page aligned:
 * a write starting on a page boundary of the file qualifies (a whole
 * image, a range at such an offset), and only the end of an image whose
 * size is not a multiple of the page goes through the page cache; a
 * write starting elsewhere goes through it whole.
 *
 * Best effort: a file system that refuses O_DIRECT (ramfs), a system
 * without /proc, or a device that wants another alignment turns it off
 * for this backend, and the writes go through the page cache as before.
 * It makes nothing stable by itself: the device may hold a direct write
 * in its cache, and flush (fdatasync on the inode, whichever fd wrote)
 * is still what makes an upload stable.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-file.h"
#include "error.h"
#include "log.h"

/* The memory alignment a direct write needs: the logical block size of
 * every common device (512 or 4096) or less, and what the chunk buffers
 * have (posix_memalign 4096). */
#define DIRECT_MEMORY_ALIGN 4096

/* Smaller writes (a PATCH of a few blocks, a small ranged PUT) stay
 * buffered: a direct write waits for the device, where a buffered one
 * returns once copied, and for a few KiB the copy costs less than the
 * wait. */
#define DIRECT_MIN (1024 * 1024)

/* The alignment of file offsets and lengths: the page size, so that no
 * page holds both bytes written through the page cache and bytes written
 * around it; a block device's sector size if larger.  The kernel writes
 * back and drops the pages a direct write covers, but a page dirtied
 * again meanwhile (by another worker's buffered write next to it) could
 * not be dropped: no page shared is the simple way not to depend on
 * that. */
static uint64_t
direct_align (const struct file_backend *fb)
{
  long page = sysconf (_SC_PAGESIZE);
  uint64_t align = page > 0 ? (uint64_t) page : 4096;

  if (fb->is_block && fb->sector_size > align)
    align = fb->sector_size;
  return align;
}

void
file_direct_span (const struct file_backend *fb, const void *buf,
                  size_t count, uint64_t offset, size_t *head,
                  size_t *middle)
{
  uint64_t align = direct_align (fb);
  size_t skip = (size_t) ((align - offset % align) % align);

  *head = count;
  *middle = 0;
  if (fb->no_direct || count < DIRECT_MIN || count - skip < DIRECT_MIN)
    return;
  if (((uintptr_t) buf + skip) % DIRECT_MEMORY_ALIGN != 0)
    return;
  *head = skip;
  *middle = (size_t) ((count - skip) / align * align);
}

/* Direct writes do not work here: the rest of this backend's writes go
 * through the page cache. */
static void
direct_off (struct file_backend *fb, const char *why)
{
  log_debug ("pwrite: transfer %s: %s: %s; writing through the page cache",
             fb->backend.transfer ? fb->backend.transfer->id : "-",
             fb->path, why);
  fb->no_direct = true;
  file_direct_close (fb);
}

/* The O_DIRECT fd, opened on first use: through /proc/self/fd, so that
 * it is the very inode fb->fd opened (and checked against image_roots),
 * not whatever the path names now; checked again all the same. */
static bool
direct_open (struct file_backend *fb)
{
  if (fb->direct_fd >= 0)
    return true;
  fb->direct_fd = file_open_again (fb, O_WRONLY | O_DIRECT);
  if (fb->direct_fd == -1) {
    direct_off (fb, errno == EINVAL ? "the file system refuses O_DIRECT"
                : errno == ESTALE ? "its O_DIRECT open is not the file opened"
                : "cannot open it again with O_DIRECT");
    return false;
  }
  return true;
}

ssize_t
file_direct_pwrite (struct file_backend *fb, const void *buf, size_t count,
                    uint64_t offset)
{
  const char *p = buf;
  size_t done = 0;

  if (!direct_open (fb))
    return 0;
  while (done < count) {
    ssize_t r = pwrite (fb->direct_fd, p + done, count - done,
                        (off_t) (offset + done));

    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1 && errno == EINVAL) {
      /* An alignment this file system or device refuses: the rest goes
       * through the page cache. */
      direct_off (fb, "a direct write was refused (EINVAL)");
      return (ssize_t) done;
    }
    if (r <= 0) {
      /* A write that wrote nothing would loop forever. */
      error_set (r == 0 ? EIO : errno, "pwrite %s at %" PRIu64, fb->path,
                 offset + done);
      return -1;
    }
    done += (size_t) r;
    /* A short write that left the rest unaligned: the page cache takes
     * the rest of this one. */
    if (done < count && done % direct_align (fb) != 0)
      return (ssize_t) done;
  }
  return (ssize_t) done;
}

void
file_direct_close (struct file_backend *fb)
{
  if (fb->direct_fd >= 0)
    close (fb->direct_fd);
  fb->direct_fd = -1;
}
