/* SPDX-License-Identifier: Apache-2.0 */
/* Large uploads to a file backend written around the page cache
 * (O_DIRECT).
 *
 * A buffered write copies every byte into the page cache, and the
 * kernel writes it back from there: for an upload that is the worker's
 * largest cost (docs/benchmark.md: half of its CPU per GiB, most of it
 * the copy).  A direct write goes from the chunk buffer to the device.
 * So the aligned middle of a large write goes through a second fd,
 * opened with O_DIRECT on the same inode, and only the unaligned head
 * and tail (the end of an image whose size is not a multiple of the
 * block) through the page cache.
 *
 * Best effort: a file system that refuses O_DIRECT (tmpfs before Linux
 * 6.6), a system without /proc, or a device that wants another
 * alignment turns it off for this backend, and the write goes through
 * the page cache as before.  It makes nothing stable by itself: the
 * device may hold a direct write in its cache, and flush (fdatasync on
 * the inode, whichever fd wrote) is still what makes an upload stable.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "backend-file.h"

/* The alignment of buffer, offset and length a direct write needs: the
 * page size, which covers the logical block size of every common device
 * (512 or 4096); a block device that reports a larger one uses that. */
#define DIRECT_ALIGN 4096

/* Smaller writes (a PATCH of a few blocks, a small ranged PUT) stay
 * buffered: a direct write waits for the device, where a buffered one
 * returns once copied, and for a few KiB the copy costs less than the
 * wait. */
#define DIRECT_MIN (1024 * 1024)

static unsigned
direct_align (const struct file_backend *fb)
{
  return fb->is_block && fb->sector_size > DIRECT_ALIGN
    ? fb->sector_size : DIRECT_ALIGN;
}

void
file_direct_span (const struct file_backend *fb, const void *buf,
                  size_t count, uint64_t offset, size_t *head,
                  size_t *middle)
{
  unsigned align = direct_align (fb);
  size_t skip = (size_t) ((align - offset % align) % align);

  *head = count;
  *middle = 0;
  if (fb->no_direct || count < DIRECT_MIN || count - skip < DIRECT_MIN)
    return;
  /* The buffer at the first aligned offset must be aligned too.  The
   * chunk buffers are page aligned, so that holds whenever the write
   * starts on an aligned offset: the usual case of a whole image or of
   * an ImageIO client's aligned ranges. */
  if (((uintptr_t) buf + skip) % align != 0)
    return;
  *head = skip;
  *middle = (count - skip) / align * align;
}

/* The O_DIRECT fd, opened on first use: through /proc/self/fd so that it
 * is the very inode fb->fd opened (and checked against image_roots), not
 * whatever the path names now. */
static bool
direct_open (struct file_backend *fb)
{
  char proc_path[64];

  if (fb->direct_fd >= 0)
    return true;
  snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d", fb->fd);
  fb->direct_fd = open (proc_path, O_WRONLY | O_DIRECT | O_CLOEXEC
                        | O_NOCTTY);
  if (fb->direct_fd == -1) {
    fb->no_direct = true;
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

    if (r == -1) {
      if (errno == EINTR)
        continue;
      /* EINVAL: an alignment this file system or device refuses.  The
       * rest goes through the page cache, now and from now on. */
      if (errno == EINVAL) {
        fb->no_direct = true;
        return (ssize_t) done;
      }
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
