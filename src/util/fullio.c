/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fullio.h"

int
full_pread (int fd, void *buf, size_t count, uint64_t offset)
{
  char *p = buf;

  while (count > 0) {
    ssize_t r = pread (fd, p, count, (off_t) offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    p += r;
    count -= (size_t) r;
    offset += (uint64_t) r;
  }
  return 0;
}

int
full_pwrite (int fd, const void *buf, size_t count, uint64_t offset)
{
  const char *p = buf;

  while (count > 0) {
    ssize_t r = pwrite (fd, p, count, (off_t) offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    /* Nothing written and no error (some FUSE file systems): asking
     * again would spin forever. */
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    p += r;
    count -= (size_t) r;
    offset += (uint64_t) r;
  }
  return 0;
}

int
full_writev (int fd, struct iovec *iov, int iovcnt)
{
  while (iovcnt > 0) {
    ssize_t r = writev (fd, iov, iovcnt);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0 && iov->iov_len > 0) {
      errno = EIO;
      return -1;
    }
    while (iovcnt > 0 && (size_t) r >= iov->iov_len) {
      r -= (ssize_t) iov->iov_len;
      iov++;
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov->iov_base = (char *) iov->iov_base + r;
      iov->iov_len -= (size_t) r;
    }
  }
  return 0;
}

int
full_sendfile (int out_fd, int in_fd, uint64_t offset, size_t count)
{
  off_t in_offset = (off_t) offset;

  while (count > 0) {
    ssize_t r = sendfile (out_fd, in_fd, &in_offset, count);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    count -= (size_t) r;
  }
  return 0;
}
