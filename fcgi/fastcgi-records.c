/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <fastcgi.h>

#include "fastcgi-records.h"
#include "fullio.h"

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

/* The records that end request_id: an empty FCGI_STDOUT record and
 * FCGI_END_REQUEST (application status 0, FCGI_REQUEST_COMPLETE), as
 * libfcgi's FCGX_Finish_r writes them. */
static void
end_records (unsigned char end[3 * FCGI_HEADER_LEN], int request_id)
{
  FCGI_EndRequestBody body = { .protocolStatus = FCGI_REQUEST_COMPLETE };

  record_header (end, request_id, 0);
  record_header (end + FCGI_HEADER_LEN, request_id, sizeof body);
  end[FCGI_HEADER_LEN + 1] = FCGI_END_REQUEST;
  memcpy (end + 2 * FCGI_HEADER_LEN, &body, sizeof body);
}

/* head and buf as STDOUT records, then tail_count raw bytes of tail
 * with the last of them. */
static int
write_stdout (int fd, int request_id, const void *head, size_t head_count,
              const void *buf, size_t count, const void *tail,
              size_t tail_count)
{
  struct {
    const char *p;
    size_t left;
  } part[2] = { { head, head_count }, { buf, count } };
  unsigned char headers[RECORDS_PER_WRITEV][FCGI_HEADER_LEN];
  struct iovec iov[2 * RECORDS_PER_WRITEV + 1];
  size_t k = 0;

  for (;;) {
    int n = 0;

    /* Records never span the two parts: the head is its own record. */
    for (int i = 0; i < RECORDS_PER_WRITEV; i++) {
      size_t length;

      while (k < 2 && part[k].left == 0)
        k++;
      if (k == 2)
        break;
      length = part[k].left < RECORD_CONTENT_MAX ? part[k].left
                                                  : RECORD_CONTENT_MAX;
      record_header (headers[i], request_id, length);
      iov[n].iov_base = headers[i];
      iov[n++].iov_len = FCGI_HEADER_LEN;
      iov[n].iov_base = (void *) part[k].p;
      iov[n++].iov_len = length;
      part[k].p += length;
      part[k].left -= length;
    }
    while (k < 2 && part[k].left == 0)
      k++;
    if (k == 2 && tail_count > 0) {
      iov[n].iov_base = (void *) tail;
      iov[n++].iov_len = tail_count;
      tail_count = 0;
    }
    if (n == 0)
      return 0;
    if (full_writev (fd, iov, n) == -1)
      return -1;
  }
}

int
fastcgi_write_stdout_after (int fd, int request_id, const void *head,
                            size_t head_count, const void *buf, size_t count)
{
  return write_stdout (fd, request_id, head, head_count, buf, count, NULL, 0);
}

int
fastcgi_write_stdout (int fd, int request_id, const void *buf, size_t count)
{
  return write_stdout (fd, request_id, NULL, 0, buf, count, NULL, 0);
}

int
fastcgi_write_stdout_last (int fd, int request_id, const void *head,
                           size_t head_count, const void *buf, size_t count)
{
  unsigned char end[3 * FCGI_HEADER_LEN];

  end_records (end, request_id);
  return write_stdout (fd, request_id, head, head_count, buf, count, end,
                       sizeof end);
}

int
fastcgi_sendfile_stdout (int fd, int request_id, int file_fd, uint64_t offset,
                         uint64_t count)
{
  unsigned char header[FCGI_HEADER_LEN];

  while (count > 0) {
    size_t length = count < RECORD_CONTENT_MAX ? (size_t) count
                                               : RECORD_CONTENT_MAX;
    struct iovec iov = { .iov_base = header, .iov_len = sizeof header };

    record_header (header, request_id, length);
    /* A file shorter than it was (EIO) leaves the record incomplete and
     * the stream broken: the caller aborts the response. */
    if (full_writev (fd, &iov, 1) == -1
        || full_sendfile (fd, file_fd, offset, length) == -1)
      return -1;
    offset += length;
    count -= length;
  }
  return 0;
}

void
fastcgi_write_broken (int fd, int timeout_ms)
{
  static const unsigned char bad_header[8] = { 0 };
  struct pollfd pfd = { .fd = fd, .events = POLLOUT };

  if (poll (&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLOUT))
    (void) send (fd, bad_header, sizeof bad_header,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
}
