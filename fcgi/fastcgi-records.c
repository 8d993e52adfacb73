#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include <fastcgi.h>

#include "fastcgi-records.h"

/* The largest record content is 65535 bytes; a multiple of 8 keeps
 * records unpadded. */
#define RECORD_CONTENT_MAX 65528
#define RECORDS_PER_WRITEV 32

static void
record_header (unsigned char header[FCGI_HEADER_LEN], int request_id,
               size_t length)
{
  header[0] = FCGI_VERSION_1;
  header[1] = FCGI_STDOUT;
  header[2] = (unsigned char) ((request_id >> 8) & 0xff);
  header[3] = (unsigned char) (request_id & 0xff);
  header[4] = (unsigned char) ((length >> 8) & 0xff);
  header[5] = (unsigned char) (length & 0xff);
  header[6] = 0;                /* padding */
  header[7] = 0;                /* reserved */
}

/* writev until every iovec is written, advancing over partial writes. */
static int
writev_full (int fd, struct iovec *iov, int iovcnt)
{
  while (iovcnt > 0) {
    ssize_t r = writev (fd, iov, iovcnt);
    if (r == -1) {
      if (errno == EINTR)
        continue;
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
fastcgi_write_stdout (int fd, int request_id, const void *buf, size_t count)
{
  unsigned char headers[RECORDS_PER_WRITEV][FCGI_HEADER_LEN];
  struct iovec iov[2 * RECORDS_PER_WRITEV];
  const char *p = buf;

  while (count > 0) {
    int n = 0;

    for (int i = 0; i < RECORDS_PER_WRITEV && count > 0; i++) {
      size_t length = count < RECORD_CONTENT_MAX ? count : RECORD_CONTENT_MAX;

      record_header (headers[i], request_id, length);
      iov[n].iov_base = headers[i];
      iov[n++].iov_len = FCGI_HEADER_LEN;
      iov[n].iov_base = (void *) p;
      iov[n++].iov_len = length;
      p += length;
      count -= length;
    }
    if (writev_full (fd, iov, n) == -1)
      return -1;
  }
  return 0;
}

int
fastcgi_sendfile_stdout (int fd, int request_id, int file_fd, uint64_t offset,
                         uint64_t count)
{
  unsigned char header[FCGI_HEADER_LEN];

  while (count > 0) {
    size_t length = count < RECORD_CONTENT_MAX ? (size_t) count
                                               : RECORD_CONTENT_MAX;
    off_t file_offset = (off_t) offset;
    size_t left = length;
    struct iovec iov = { .iov_base = header, .iov_len = sizeof header };

    record_header (header, request_id, length);
    if (writev_full (fd, &iov, 1) == -1)
      return -1;
    while (left > 0) {
      ssize_t r = sendfile (fd, file_fd, &file_offset, left);
      if (r == -1) {
        if (errno == EINTR)
          continue;
        return -1;
      }
      if (r == 0) {
        /* The file is shorter than it was: the record cannot be
         * completed, and the stream is broken. */
        errno = EIO;
        return -1;
      }
      left -= (size_t) r;
    }
    offset += length;
    count -= length;
  }
  return 0;
}
