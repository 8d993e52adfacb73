/* SPDX-License-Identifier: Apache-2.0 */
/* What the web server sends a worker: FastCGI records (BEGIN_REQUEST,
 * PARAMS, STDIN...; framed as frame_input says) read by libfcgi, then
 * the CGI parameters and the body as fcgi/request.c takes them (request_parse: REQUEST_URI,
 * percent-decoding, CONTENT_LENGTH; request_read_body; the headers the
 * routes read) and a response written back with our own records
 * (fcgi/fastcgi-records.c).
 *
 * Each input, framed, is written whole into a fresh connection to a
 * listening unix socket, as lighttpd would; the write side is then shut, so a
 * truncated stream ends instead of waiting.  The listening socket is
 * non-blocking, as in the worker, so a connection libfcgi gives up on
 * never leaves it waiting for another. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fastcgi.h>

#include "fuzz.h"
#include "log.h"
#include "range.h"
#include "request.h"

/* Inputs up to this size (framed, under three times as much) fit in the
 * socket buffers, so one thread can write all of it before reading. */
#define INPUT_MAX (16 * 1024)

/* An abstract unix socket (Linux): nothing in the file system to
 * remove, which matters since libFuzzer ends the process with _Exit. */
static struct sockaddr_un address;
static socklen_t address_length;
static int listen_fd = -1;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  int n;

  log_set_level (LOG_LEVEL_ERROR);
  signal (SIGPIPE, SIG_IGN);
  if (FCGX_Init () != 0) {
    perror ("fuzz-fastcgi-request: FCGX_Init");
    abort ();
  }
  address.sun_family = AF_UNIX;
  n = snprintf (address.sun_path + 1, sizeof address.sun_path - 1,
                "imagexfer-fuzz-%ld", (long) getpid ());
  address_length = (socklen_t) (offsetof (struct sockaddr_un, sun_path)
                                + 1 + (size_t) n);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd == -1
      || bind (listen_fd, (struct sockaddr *) &address, address_length) == -1
      || listen (listen_fd, 4) == -1
      || fcntl (listen_fd, F_SETFL, O_NONBLOCK) == -1) {
    perror ("fuzz-fastcgi-request: listening socket");
    abort ();
  }
  return 0;
}

/* The length of a name or value in FCGI_PARAMS at p (1 or 4 bytes),
 * advancing p; false when the stream ends first. */
static bool
param_length (const uint8_t **p, const uint8_t *end, uint32_t *length)
{
  if (*p >= end)
    return false;
  if (**p < 0x80) {
    *length = *(*p)++;
    return true;
  }
  if (end - *p < 4)
    return false;
  *length = ((uint32_t) ((*p)[0] & 0x7f) << 24) | ((uint32_t) (*p)[1] << 16)
            | ((uint32_t) (*p)[2] << 8) | (*p)[3];
  *p += 4;
  return true;
}

/* Whether no name-value pair of p[0..length) declares more bytes than
 * follow it. */
static bool
pairs_honest (const uint8_t *p, size_t length)
{
  const uint8_t *end = p + length;

  while (p < end) {
    uint32_t name, value;

    if (!param_length (&p, end, &name) || !param_length (&p, end, &value))
      return true;        /* cut short: libfcgi sees the end, not a lie */
    if (name > (size_t) (end - p) || value > (size_t) (end - p) - name)
      return false;
    p += name + value;
  }
  return true;
}

/* The records of an input: FCGI_BEGIN_REQUEST (responder; the first
 * byte's low bit asks to keep the connection), then one record per
 * chunk of the rest: a type byte (its low two bits: PARAMS, STDIN,
 * ABORT_REQUEST, DATA), a 16-bit big-endian length, that many bytes (or
 * what is left).  Headers are written here, as a web server writes
 * them: libfcgi (2.4.2) believes the framing and the name-value lengths
 * it is sent, allocating their sum (an int that can overflow) before it
 * reads, and aborting when that fails; the peer is the web server, and
 * inputs that lie about lengths would test libfcgi, not us. */
static const uint8_t chunk_types[4] = {
  FCGI_PARAMS, FCGI_STDIN, FCGI_ABORT_REQUEST, FCGI_DATA,
};

/* Append one record to out (capacity checked by the caller's bound). */
static size_t
put_record (uint8_t *out, uint8_t type, const uint8_t *content,
            size_t length)
{
  out[0] = FCGI_VERSION_1;
  out[1] = type;
  out[2] = 0;
  out[3] = 1;                   /* request id */
  out[4] = (uint8_t) (length >> 8);
  out[5] = (uint8_t) length;
  out[6] = 0;
  out[7] = 0;
  memcpy (out + 8, content, length);
  return 8 + length;
}

/* The stream to send for data[0..size), in out (under three times size
 * plus 16 bytes: each chunk of 3 + n bytes becomes 8 + n); 0 when its
 * FCGI_PARAMS (the records up to an empty one, or one of another type,
 * as libfcgi reads them) has a name or value longer than what follows. */
static size_t
frame_input (const uint8_t *data, size_t size, uint8_t *out)
{
  static uint8_t params[INPUT_MAX];
  const uint8_t begin[8] = {
    0, FCGI_RESPONDER, size > 0 ? (data[0] & 1) : 0, 0, 0, 0, 0, 0,
  };
  size_t length = 0, at = size > 0 ? 1 : 0, n = 0;
  bool params_done = false;

  n += put_record (out + n, FCGI_BEGIN_REQUEST, begin, sizeof begin);
  while (at + 3 <= size) {
    uint8_t type = chunk_types[data[at] & 3];
    size_t content = ((size_t) data[at + 1] << 8) | data[at + 2];

    at += 3;
    if (content > size - at)
      content = size - at;
    if (!params_done) {
      if (type != FCGI_PARAMS || content == 0)
        params_done = true;
      else {
        memcpy (params + length, data + at, content);
        length += content;
      }
    }
    n += put_record (out + n, type, data + at, content);
    at += content;
  }
  return pairs_honest (params, length) ? n : 0;
}

/* What a worker reads of a request before it routes it. */
static void
serve (struct request *req)
{
  char buf[4096];
  const char *value;
  struct range_spec spec;
  struct content_range cr;
  uint64_t total = 0;
  ssize_t n;

  if (request_parse (req) == -1) {
    response_error (req, 400, "bad request");
    return;
  }
  if ((value = request_header (req, "Range")) != NULL)
    (void) range_spec_parse (value, &spec);
  if ((value = request_header (req, "Content-Range")) != NULL)
    (void) content_range_parse (value, &cr);
  (void) request_query (req, "flush", buf, sizeof buf);
  while ((n = request_read_body (req, buf, sizeof buf)) > 0)
    total += (uint64_t) n;
  FUZZ_ASSERT (total == req->body_read);
  FUZZ_ASSERT (!req->has_content_length || total <= req->content_length);
  if (response_begin (req, 200, "text/plain", true, 3) == 0)
    (void) response_write (req, "ok\n", 3);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static uint8_t stream[3 * INPUT_MAX + 16];
  struct request req;
  int client;
  size_t done = 0, length;

  if (size > INPUT_MAX || (length = frame_input (data, size, stream)) == 0)
    return 0;
  client = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client == -1
      || connect (client, (struct sockaddr *) &address, address_length) == -1) {
    perror ("fuzz-fastcgi-request: connect");
    abort ();
  }
  while (done < length) {
    ssize_t n = write (client, stream + done, length - done);

    if (n <= 0) {
      perror ("fuzz-fastcgi-request: write");
      abort ();
    }
    done += (size_t) n;
  }
  shutdown (client, SHUT_WR);

  memset (&req, 0, sizeof req);
  request_reset (&req);
  if (FCGX_InitRequest (&req.fcgx, listen_fd, 0) == 0
      && FCGX_Accept_r (&req.fcgx) == 0) {
    serve (&req);
    request_reset (&req);
    FCGX_Finish_r (&req.fcgx);
  }
  /* A kept connection (FCGI_KEEP_CONN) is not ours to keep. */
  FCGX_Free (&req.fcgx, 1);
  request_free (&req);
  close (client);
  return 0;
}
