/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

/* The stream is not what the FastCGI protocol allows here: keep the
 * length bytes at raw (at most a header's worth), where they came and
 * what was expected, for the message. */
static void
fail_unexpected (struct fastcgi_stdin *in,
                 enum fastcgi_stdin_expected expected,
                 const unsigned char *raw, size_t length, uint64_t position)
{
  if (in->error)
    return;
  fail (in, EPROTO);
  in->expected = expected;
  in->unexpected_length = smallest (length, sizeof in->unexpected);
  memcpy (in->unexpected, raw, in->unexpected_length);
  in->unexpected_position = position;
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
  in->position = in->header_position = in->last_content_position = 0;
  in->buffered = length;
  in->expected = FASTCGI_STDIN_EXPECTED_NOTHING_WRONG;
  in->unexpected_length = 0;
  in->unexpected_position = 0;
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
    fail_unexpected (in, FASTCGI_STDIN_EXPECTED_VERSION_1, h, FCGI_HEADER_LEN,
                     in->header_position);
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
    fail_unexpected (in, FASTCGI_STDIN_EXPECTED_STDIN, h, FCGI_HEADER_LEN,
                     in->header_position);
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
      in->last_content_position = in->position + pos + take - 1;
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
      fail_unexpected (in, FASTCGI_STDIN_EXPECTED_SILENCE, raw + pos,
                       length - pos, in->position + pos);
    else {
      size_t take = smallest (FCGI_HEADER_LEN - in->header_length,
                              length - pos);

      if (in->header_length == 0)
        in->header_position = in->position + pos;
      memcpy (in->header + in->header_length, raw + pos, take);
      in->header_length += take;
      pos += take;
      if (in->header_length == FCGI_HEADER_LEN)
        take_header (in);
    }
  }
  in->position += pos;
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

  /* Past the end record, only its padding is still read: a connection
   * the web server keeps must be left at a record boundary. */
  while (got == 0 && !in->error && (!in->ended || in->skip_left > 0)) {
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

bool
fastcgi_stdin_ended_buffered (struct fastcgi_stdin *in)
{
  unsigned char none;

  /* Room for no content: only headers and padding are taken, and a
   * record with content stops the parse where it is. */
  consume_carry (in, &none, 0);
  return in->ended && in->skip_left == 0 && in->header_length == 0
         && in->carry_length == 0 && !in->error;
}

int
fastcgi_stdin_finish (struct fastcgi_stdin *in)
{
  unsigned char byte;
  ssize_t n = fastcgi_stdin_read (in, &byte, 1);

  if (n > 0) {
    fail_unexpected (in, FASTCGI_STDIN_EXPECTED_END, &byte, 1,
                     in->last_content_position);
    errno = EPROTO;
    return -1;
  }
  return (int) n;
}

static const char *
record_type_name (int type)
{
  static const char *const names[] = {
    [FCGI_BEGIN_REQUEST] = "FCGI_BEGIN_REQUEST",
    [FCGI_ABORT_REQUEST] = "FCGI_ABORT_REQUEST",
    [FCGI_END_REQUEST] = "FCGI_END_REQUEST",
    [FCGI_PARAMS] = "FCGI_PARAMS",
    [FCGI_STDIN] = "FCGI_STDIN",
    [FCGI_STDOUT] = "FCGI_STDOUT",
    [FCGI_STDERR] = "FCGI_STDERR",
    [FCGI_DATA] = "FCGI_DATA",
    [FCGI_GET_VALUES] = "FCGI_GET_VALUES",
    [FCGI_GET_VALUES_RESULT] = "FCGI_GET_VALUES_RESULT",
    [FCGI_UNKNOWN_TYPE] = "FCGI_UNKNOWN_TYPE",
  };

  if (type > 0 && type < (int) (sizeof names / sizeof names[0]))
    return names[type];
  return "an unknown type";
}

const char *
fastcgi_stdin_describe_error (const struct fastcgi_stdin *in, char *buf,
                              size_t size)
{
  const unsigned char *h = in->unexpected;
  char hex[3 * FCGI_HEADER_LEN + 1] = "";
  char what[128] = "";
  const char *expected;

  buf[0] = '\0';
  if (in->error != EPROTO
      || in->expected == FASTCGI_STDIN_EXPECTED_NOTHING_WRONG)
    return buf;
  for (size_t i = 0; i < in->unexpected_length; i++)
    snprintf (hex + strlen (hex), sizeof hex - strlen (hex), "%s%02x",
              i ? " " : "", h[i]);
  switch (in->expected) {
  case FASTCGI_STDIN_EXPECTED_VERSION_1:
    snprintf (what, sizeof what, "record header %s (version %d)", hex, h[0]);
    expected = "a header of FastCGI version 1";
    break;
  case FASTCGI_STDIN_EXPECTED_STDIN:
    snprintf (what, sizeof what, "record header %s (%s, request %d, "
              "content %d, padding %d)", hex, record_type_name (h[1]),
              h[2] << 8 | h[3], h[4] << 8 | h[5], h[6]);
    expected = "FCGI_STDIN (or FCGI_ABORT_REQUEST) of this request";
    break;
  case FASTCGI_STDIN_EXPECTED_SILENCE:
    snprintf (what, sizeof what, "bytes %s", hex);
    expected = "nothing (the end record of this request's FCGI_STDIN came "
               "before)";
    break;
  default:
    snprintf (what, sizeof what, "content %s", hex);
    expected = "the end record of this request's FCGI_STDIN (the body was "
               "longer than its Content-Length)";
    break;
  }
  snprintf (buf, size, "%s at byte %" PRIu64 " of request %d's FCGI_STDIN "
            "stream (%zu bytes of it read ahead by libfcgi), where %s was "
            "expected", what, in->unexpected_position, in->request_id,
            in->buffered, expected);
  return buf;
}
