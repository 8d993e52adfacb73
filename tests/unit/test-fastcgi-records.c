/* SPDX-License-Identifier: Apache-2.0 */
/* FastCGI record framing, both ways, over connected unix sockets.
 *
 * Out: fastcgi_write_stdout and fastcgi_sendfile_stdout
 * (fcgi/fastcgi-records.c) against a reader of this test that checks
 * every record header and reassembles the content, read in big reads
 * or one byte at a time, and a reader that leaves mid-record.
 *
 * In: the request body as request.c reads it through libfcgi, from a
 * client of this test that writes the records split at odd boundaries
 * (one byte per write, headers apart from their content, everything in
 * one write), with padding, and that closes mid-record. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#include "error.h"
#include "fastcgi-records.h"
#include "request.h"
#include "tap.h"

#define REQUEST_ID 7
#define RECORD_CONTENT_MAX 65528

static unsigned char
pattern (uint64_t i)
{
  return (unsigned char) (i * 31 + i / 65536);
}

/* ---- Out: our records, read by the test ---- */

struct reader {
  int fd;
  bool byte_at_a_time;
  size_t leave_after;           /* close after this many bytes; 0: never */
  unsigned char *content;       /* reassembled, capacity bytes */
  size_t capacity;
  size_t length;
  size_t records;
  bool framing_ok;              /* every header as it should be */
};

/* Read exactly count bytes (or up to the end); returns bytes read. */
static size_t
reader_read (struct reader *r, unsigned char *buf, size_t count,
             size_t *total)
{
  size_t got = 0;

  while (got < count) {
    size_t want = r->byte_at_a_time ? 1 : count - got;
    ssize_t n;

    if (r->leave_after && *total + want > r->leave_after)
      want = r->leave_after - *total;
    if (want == 0)
      break;
    n = read (r->fd, buf + got, want);
    if (n <= 0)
      break;
    got += (size_t) n;
    *total += (size_t) n;
  }
  return got;
}

static void *
reader_run (void *arg)
{
  struct reader *r = arg;
  size_t total = 0;

  r->framing_ok = true;
  for (;;) {
    unsigned char h[FCGI_HEADER_LEN];
    size_t length, got = reader_read (r, h, sizeof h, &total);

    if (got == 0)
      break;
    if (got < sizeof h) {
      r->framing_ok = false;
      break;
    }
    length = (size_t) h[4] << 8 | h[5];
    if (h[0] != FCGI_VERSION_1 || h[1] != FCGI_STDOUT
        || (h[2] << 8 | h[3]) != REQUEST_ID || h[6] != 0 || h[7] != 0
        || length == 0 || length > RECORD_CONTENT_MAX
        || r->length + length > r->capacity) {
      r->framing_ok = false;
      break;
    }
    got = reader_read (r, r->content + r->length, length, &total);
    r->length += got;
    if (got < length)
      break;
    r->records++;
  }
  close (r->fd);
  return NULL;
}

static void
socket_pair (int fds[2], int sndbuf)
{
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
    perror ("socketpair");
    exit (1);
  }
  if (sndbuf)
    setsockopt (fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

/* Write count pattern bytes through fastcgi_write_stdout (or, with
 * file_fd, fastcgi_sendfile_stdout from file offset 3) and check what
 * the reader reassembled. */
static void
test_write (const char *what, size_t count, bool byte_at_a_time,
            int file_fd)
{
  unsigned char *buf = malloc (count + 1);
  struct reader r = {
    .byte_at_a_time = byte_at_a_time, .capacity = count + 1,
    .content = malloc (count + 1),
  };
  size_t want_records = (count + RECORD_CONTENT_MAX - 1) / RECORD_CONTENT_MAX;
  pthread_t thread;
  int fds[2], w;

  for (size_t i = 0; i < count; i++)
    buf[i] = pattern (i + (file_fd >= 0 ? 3 : 0));
  socket_pair (fds, byte_at_a_time ? 4096 : 0);
  r.fd = fds[1];
  pthread_create (&thread, NULL, reader_run, &r);
  if (file_fd >= 0)
    w = fastcgi_sendfile_stdout (fds[0], REQUEST_ID, file_fd, 3, count);
  else
    w = fastcgi_write_stdout (fds[0], REQUEST_ID, buf, count);
  close (fds[0]);
  pthread_join (thread, NULL);
  tap_ok (w == 0 && r.framing_ok && r.records == want_records
          && r.length == count && memcmp (r.content, buf, count) == 0,
          "%s: %zu bytes in %zu records (want %zu)", what, r.length,
          r.records, want_records);
  free (buf);
  free (r.content);
}

/* The reader leaves after leave_after bytes: the writer must fail with
 * EPIPE (or ECONNRESET), not hang and not report success. */
static void
test_reader_leaves (size_t leave_after, int file_fd)
{
  size_t count = 4 * RECORD_CONTENT_MAX;
  unsigned char *buf = calloc (1, count);
  struct reader r = {
    .leave_after = leave_after, .capacity = count,
    .content = malloc (count),
  };
  pthread_t thread;
  int fds[2], w, errnum;

  socket_pair (fds, 4096);
  r.fd = fds[1];
  pthread_create (&thread, NULL, reader_run, &r);
  if (file_fd >= 0)
    w = fastcgi_sendfile_stdout (fds[0], REQUEST_ID, file_fd, 0, count);
  else
    w = fastcgi_write_stdout (fds[0], REQUEST_ID, buf, count);
  errnum = errno;
  close (fds[0]);
  pthread_join (thread, NULL);
  tap_ok (w == -1 && (errnum == EPIPE || errnum == ECONNRESET),
          "%s: reader gone after %zu bytes: fails with %s",
          file_fd >= 0 ? "sendfile" : "write", leave_after,
          strerror (errnum));
  free (buf);
  free (r.content);
}

/* A file of size bytes of the pattern, unlinked. */
static int
pattern_file (size_t size)
{
  char path[] = "/tmp/test-fastcgi-records.XXXXXX";
  int fd = mkstemp (path);
  unsigned char *buf = malloc (size);

  unlink (path);
  for (size_t i = 0; i < size; i++)
    buf[i] = pattern (i);
  if (fd == -1 || write (fd, buf, size) != (ssize_t) size) {
    perror ("pattern file");
    exit (1);
  }
  free (buf);
  return fd;
}

/* An aborted response ends with a record header no web server accepts
 * (version 0), after the whole records before it; with no room in the
 * socket the marker is given up after the timeout instead of blocking. */
static void
test_broken (void)
{
  static const unsigned char zeroes[8];
  unsigned char buf[64];
  int fds[2], flags;
  ssize_t n;
  size_t filled = 0, record;
  struct timespec t0, t1;
  double waited;

  socket_pair (fds, 0);
  tap_ok (fastcgi_write_stdout (fds[0], REQUEST_ID, "abc", 3) == 0,
          "broken: a record first");
  fastcgi_write_broken (fds[0], 1000);
  shutdown (fds[0], SHUT_WR);
  n = read (fds[1], buf, sizeof buf);
  /* The record (header, content, padding), then the 8-byte marker. */
  record = 8 + (size_t) (buf[4] << 8 | buf[5]) + buf[6];
  tap_ok (n >= 8 && buf[0] == 1 && record == (size_t) n - 8
          && memcmp (buf + record, zeroes, 8) == 0
          && read (fds[1], buf, sizeof buf) == 0,
          "broken: a version-0 header after the whole record (%zd bytes)", n);
  close (fds[0]);
  close (fds[1]);

  socket_pair (fds, 4096);
  flags = fcntl (fds[0], F_GETFL);
  fcntl (fds[0], F_SETFL, flags | O_NONBLOCK);
  memset (buf, 'x', sizeof buf);
  while ((n = write (fds[0], buf, sizeof buf)) > 0)
    filled += (size_t) n;
  fcntl (fds[0], F_SETFL, flags);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  fastcgi_write_broken (fds[0], 200);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  waited = (double) (t1.tv_sec - t0.tv_sec)
           + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
  tap_ok (filled > 0 && waited >= 0.15 && waited < 5,
          "broken: a full socket is waited for at most the timeout (%.2f s)",
          waited);
  close (fds[0]);
  close (fds[1]);
}

static void
test_out (void)
{
  int fd = pattern_file (3 * RECORD_CONTENT_MAX + 100);
  int errnum, w, fds[2];

  test_write ("nothing", 0, false, -1);
  test_write ("one byte", 1, false, -1);
  test_write ("one full record", RECORD_CONTENT_MAX, false, -1);
  test_write ("a record and a byte", RECORD_CONTENT_MAX + 1, false, -1);
  /* More records than one writev carries (32). */
  test_write ("33 records", 33 * RECORD_CONTENT_MAX - 5, false, -1);
  test_write ("read a byte at a time", RECORD_CONTENT_MAX + 999, true, -1);
  test_write ("sendfile", 3 * RECORD_CONTENT_MAX + 50, false, fd);
  test_write ("sendfile, read a byte at a time", RECORD_CONTENT_MAX + 17,
              true, fd);
  test_reader_leaves (5, -1);
  test_reader_leaves (8 + 1000, -1);
  test_reader_leaves (RECORD_CONTENT_MAX + 8 + 3, -1);
  test_reader_leaves (8 + 1000, fd);

  /* The file is shorter than asked: the record cannot be completed. */
  socket_pair (fds, 0);
  w = fastcgi_sendfile_stdout (fds[0], REQUEST_ID, fd,
                               3 * RECORD_CONTENT_MAX, 1000);
  errnum = errno;
  tap_ok (w == -1 && errnum == EIO, "sendfile past the end of the file: %s",
          strerror (errnum));
  close (fds[0]);
  close (fds[1]);
  close (fd);
  test_broken ();
}

/* ---- In: a client's records, read by libfcgi and request.c ---- */

enum split {
  SPLIT_NONE,                   /* the whole stream in one write */
  SPLIT_BYTES,                  /* one byte per write */
  SPLIT_HEADERS,                /* every header apart from its content */
  SPLIT_ODD,                    /* writes of 7 bytes */
};

struct stream {
  unsigned char data[65536];
  size_t length;
  size_t cuts[256];             /* where SPLIT_HEADERS writes end */
  size_t ncuts;
};

static void
add_record (struct stream *s, int type, const void *content, size_t length,
            size_t padding)
{
  unsigned char *h = s->data + s->length;

  h[0] = FCGI_VERSION_1;
  h[1] = (unsigned char) type;
  h[2] = REQUEST_ID >> 8;
  h[3] = REQUEST_ID & 0xff;
  h[4] = (unsigned char) (length >> 8);
  h[5] = (unsigned char) (length & 0xff);
  h[6] = (unsigned char) padding;
  h[7] = 0;
  s->length += FCGI_HEADER_LEN;
  s->cuts[s->ncuts++] = s->length;
  memcpy (s->data + s->length, content, length);
  /* Padding bytes are garbage the reader must skip. */
  memset (s->data + s->length + length, 0xee, padding);
  s->length += length + padding;
  s->cuts[s->ncuts++] = s->length;
}

static void
add_param (unsigned char *buf, size_t *len, const char *name,
           const char *value)
{
  size_t n = strlen (name), v = strlen (value);

  buf[(*len)++] = (unsigned char) n;
  buf[(*len)++] = (unsigned char) v;
  memcpy (buf + *len, name, n);
  *len += n;
  memcpy (buf + *len, value, v);
  *len += v;
}

/* BEGIN_REQUEST, the parameters of a PUT of content_length bytes, and
 * body bytes of the pattern in STDIN records of stdin_record bytes
 * with padding; an empty STDIN record when end_stdin. */
static void
build_stream (struct stream *s, size_t content_length, size_t body,
              size_t stdin_record, size_t padding, bool end_stdin)
{
  unsigned char begin[8] = { 0, FCGI_RESPONDER, 0 };
  unsigned char params[512], chunk[4096];
  char length_text[32];
  size_t plen = 0;

  s->length = s->ncuts = 0;
  add_record (s, FCGI_BEGIN_REQUEST, begin, sizeof begin, 0);
  snprintf (length_text, sizeof length_text, "%zu", content_length);
  add_param (params, &plen, "REQUEST_METHOD", "PUT");
  add_param (params, &plen, "REQUEST_URI", "/images/x?flush=n");
  add_param (params, &plen, "CONTENT_LENGTH", length_text);
  /* The parameters split over two records, the split inside a pair. */
  add_record (s, FCGI_PARAMS, params, 20, 3);
  add_record (s, FCGI_PARAMS, params + 20, plen - 20, 0);
  add_record (s, FCGI_PARAMS, NULL, 0, 0);
  for (size_t done = 0; done < body; ) {
    size_t n = body - done < stdin_record ? body - done : stdin_record;

    for (size_t i = 0; i < n; i++)
      chunk[i] = pattern (done + i);
    add_record (s, FCGI_STDIN, chunk, n, padding);
    done += n;
  }
  if (end_stdin)
    add_record (s, FCGI_STDIN, NULL, 0, 0);
}

struct client {
  const char *socket_path;
  const struct stream *stream;
  enum split split;
  size_t send;                  /* bytes of the stream to send */
};

static void *
client_run (void *arg)
{
  struct client *c = arg;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  size_t pos = 0, cut = 0;
  char sink[4096];

  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", c->socket_path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
    perror ("connect");
    exit (1);
  }
  while (pos < c->send) {
    size_t n = c->send - pos;

    if (c->split == SPLIT_BYTES)
      n = 1;
    else if (c->split == SPLIT_ODD && n > 7)
      n = 7;
    else if (c->split == SPLIT_HEADERS) {
      while (c->stream->cuts[cut] <= pos)
        cut++;
      n = c->stream->cuts[cut] - pos;
      if (n > c->send - pos)
        n = c->send - pos;
    }
    if (write (fd, c->stream->data + pos, n) != (ssize_t) n)
      break;
    pos += n;
  }
  /* Done sending (or leaving mid-record); take the answer until the
   * server closes. */
  shutdown (fd, SHUT_WR);
  while (read (fd, sink, sizeof sink) > 0)
    ;
  close (fd);
  return NULL;
}

static int listen_fd = -1;
static char socket_path[108];

static void
listen_socket (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char dir[] = "/tmp/test-fastcgi-records.XXXXXX";

  if (!mkdtemp (dir)) {
    perror ("mkdtemp");
    exit (1);
  }
  snprintf (socket_path, sizeof socket_path, "%s/sock", dir);
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", socket_path);
  listen_fd = socket (AF_UNIX, SOCK_STREAM, 0);
  if (listen_fd == -1
      || bind (listen_fd, (struct sockaddr *) &addr, sizeof addr) == -1
      || listen (listen_fd, 4) == -1) {
    perror ("listen socket");
    exit (1);
  }
}

static void
unlisten_socket (void)
{
  char *slash;

  close (listen_fd);
  unlink (socket_path);
  slash = strrchr (socket_path, '/');
  *slash = '\0';
  rmdir (socket_path);
}

/* Serve one request of the stream: accept, parse, read the body of
 * Content-Length bytes.  Returns request_read_body_full's result; *ok
 * tells whether the parameters and the body bytes read were right. */
static int
serve_one (const struct stream *s, enum split split, size_t send,
           size_t content_length, bool *ok)
{
  struct client c = {
    .socket_path = socket_path, .stream = s, .split = split, .send = send,
  };
  struct request req = { .query = "" };
  unsigned char *body = malloc (content_length + 1);
  pthread_t thread;
  int r = -1;

  *ok = false;
  pthread_create (&thread, NULL, client_run, &c);
  if (FCGX_InitRequest (&req.fcgx, listen_fd, 0) == 0
      && FCGX_Accept_r (&req.fcgx) == 0 && request_parse (&req) == 0) {
    error_clear ();
    r = request_read_body_full (&req, body, content_length);
    *ok = strcmp (req.method, "PUT") == 0
          && strcmp (req.path, "/images/x") == 0
          && strcmp (req.query, "flush=n") == 0
          && req.has_content_length
          && req.content_length == content_length;
    for (size_t i = 0; *ok && i < req.body_read && i < content_length; i++)
      *ok = body[i] == pattern (i);
    /* At the end of the body, reading more gives nothing. */
    if (r == 0) {
      unsigned char extra;

      *ok = *ok && request_read_body (&req, &extra, 1) == 0;
    }
  }
  FCGX_Finish_r (&req.fcgx);
  pthread_join (thread, NULL);
  request_reset (&req);
  free (req.headers);
  free (body);
  return r;
}

static const char *const split_names[] = {
  [SPLIT_NONE] = "one write", [SPLIT_BYTES] = "one byte per write",
  [SPLIT_HEADERS] = "headers apart from content",
  [SPLIT_ODD] = "7-byte writes",
};

static void
test_in (void)
{
  static struct stream s;
  bool ok;
  int r;

  listen_socket ();
  for (int split = SPLIT_NONE; split <= SPLIT_ODD; split++) {
    build_stream (&s, 10000, 10000, 3000, 5, true);
    r = serve_one (&s, split, s.length, 10000, &ok);
    tap_ok (r == 0 && ok, "body of 10000 bytes in 4 padded records, %s",
            split_names[split]);
  }
  build_stream (&s, 1, 1, 1, 7, true);
  r = serve_one (&s, SPLIT_BYTES, s.length, 1, &ok);
  tap_ok (r == 0 && ok, "body of one byte, padding 7, one byte per write");
  build_stream (&s, 0, 0, 1, 0, true);
  r = serve_one (&s, SPLIT_HEADERS, s.length, 0, &ok);
  tap_ok (r == 0 && ok, "empty body: only the end-of-stream record");

  /* The STDIN stream ends before Content-Length: an error, not a short
   * success. */
  build_stream (&s, 5000, 3000, 1000, 0, true);
  r = serve_one (&s, SPLIT_NONE, s.length, 5000, &ok);
  tap_ok (r == -1 && error_errno () == EPIPE && ok,
          "end-of-stream record before Content-Length: %s", error_message ());

  /* The client leaves mid-record: inside a STDIN record's content, and
   * 3 bytes into the header of the second STDIN record (cuts: the end
   * of each header and of each record; the last 8 are the four STDIN
   * records').  An error, never a hang. */
  build_stream (&s, 10000, 10000, 4000, 0, true);
  r = serve_one (&s, SPLIT_ODD, s.length - 5000, 10000, &ok);
  tap_ok (r == -1 && error_errno () == EPIPE && ok,
          "client gone inside a record's content: %s", error_message ());
  r = serve_one (&s, SPLIT_HEADERS, s.cuts[s.ncuts - 7] + 3, 10000, &ok);
  tap_ok (r == -1 && error_errno () == EPIPE && ok,
          "client gone inside a record's header: %s", error_message ());
  unlisten_socket ();
}

int
main (void)
{
  /* A reader gone must show as EPIPE, as in the workers. */
  signal (SIGPIPE, SIG_IGN);
  test_out ();
  if (FCGX_Init () != 0) {
    tap_ok (false, "FCGX_Init");
    return tap_done ();
  }
  test_in ();
  return tap_done ();
}
