/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "fastcgi-stdin.h"

static size_t
smallest (size_t a, size_t b)
{
  return a < b ? a : b;
}

static void
fail (struct fastcgi_stdin *in, int errnum)
{
  if (!in->error)
    in->error = errnum;
}

int
fastcgi_stdin_start (struct fastcgi_stdin *in, int fd, int request_id,
                     const void *buffered, size_t length)
{
  in->fd = fd;
  in->request_id = request_id;
  in->content_left = in->skip_left = in->header_length = 0;
  in->ended = false;
  in->error = 0;
  in->carry_start = in->carry_length = 0;
  if (length > sizeof in->carry) {
    fail (in, EPROTO);
    errno = EPROTO;
    return -1;
  }
  memcpy (in->carry, buffered, length);
  in->carry_length = length;
  return 0;
}

/* A whole header is in in->header: what follows it? */
static void
take_header (struct fastcgi_stdin *in)
{
  const unsigned char *h = in->header;
  int request_id = h[2] << 8 | h[3];
  size_t length = (size_t) h[4] << 8 | h[5];

  in->header_length = 0;
  if (h[0] != FCGI_VERSION_1) {
    fail (in, EPROTO);
    return;
  }
  /* Management records (request id 0) and records of another request
   * (no web server we support multiplexes) are not ours: skipped, as
   * libfcgi skips them. */
  if (request_id != in->request_id) {
    in->skip_left = length + h[6];
    return;
  }
  switch (h[1]) {
  case FCGI_STDIN:
    in->content_left = length;
    in->skip_left = h[6];
    in->ended = length == 0;
    return;
  case FCGI_ABORT_REQUEST:
    fail (in, ECONNABORTED);
    return;
  default:
    fail (in, EPROTO);
    return;
  }
}

/* Parse length raw bytes at raw: content goes to out (room bytes free;
 * out may be raw itself, content only ever moves towards the start),
 * headers and padding are taken out.  Stops when out is full and
 * content comes next.  Returns the raw bytes consumed; *produced is the
 * content written to out. */
static size_t
consume (struct fastcgi_stdin *in, const unsigned char *raw, size_t length,
         unsigned char *out, size_t room, size_t *produced)
{
  size_t pos = 0, made = 0;

  while (pos < length && !in->error) {
    if (in->content_left > 0) {
      size_t take = smallest (smallest (in->content_left, length - pos),
                              room - made);
      if (take == 0)
        break;
      if (out + made != raw + pos)
        memmove (out + made, raw + pos, take);
      made += take;
      pos += take;
      in->content_left -= take;
    }
    else if (in->skip_left > 0) {
      size_t take = smallest (in->skip_left, length - pos);
      pos += take;
      in->skip_left -= take;
    }
    else if (in->ended)
      /* Nothing may follow the end of the stream before we answer. */
      fail (in, EPROTO);
    else {
      size_t take = smallest (FCGI_HEADER_LEN - in->header_length,
                              length - pos);
      memcpy (in->header + in->header_length, raw + pos, take);
      in->header_length += take;
      pos += take;
      if (in->header_length == FCGI_HEADER_LEN)
        take_header (in);
    }
  }
  *produced = made;
  return pos;
}

/* Content waiting in the carry buffer into out. */
static size_t
consume_carry (struct fastcgi_stdin *in, unsigned char *out, size_t room)
{
  size_t made, used = consume (in, in->carry + in->carry_start,
                               in->carry_length, out, room, &made);

  in->carry_start += used;
  in->carry_length -= used;
  return made;
}

ssize_t
fastcgi_stdin_read (struct fastcgi_stdin *in, void *buf, size_t count)
{
  unsigned char *out = buf;
  size_t got = consume_carry (in, out, count);

  while (got == 0 && !in->error && !in->ended) {
    /* The carry is empty here (out had room for all of it). */
    struct iovec iov[2] = {
      { .iov_base = out, .iov_len = count },
      { .iov_base = in->carry, .iov_len = sizeof in->carry },
    };
    ssize_t n = readv (in->fd, iov, 2);
    size_t in_place;

    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0) {
      fail (in, n == 0 ? EPIPE : errno);
      break;
    }
    in_place = smallest ((size_t) n, count);
    in->carry_start = 0;
    in->carry_length = (size_t) n - in_place;
    /* Content is never longer than the raw bytes it came in: all of the
     * in-place part is consumed. */
    consume (in, out, in_place, out, count, &got);
    got += consume_carry (in, out + got, count - got);
  }
  if (in->error) {
    errno = in->error;
    return -1;
  }
  return (ssize_t) got;
}

int
fastcgi_stdin_finish (struct fastcgi_stdin *in)
{
  unsigned char byte;
  ssize_t n = fastcgi_stdin_read (in, &byte, 1);

  if (n > 0) {
    fail (in, EPROTO);
    errno = EPROTO;
    return -1;
  }
  return (int) n;
}
