/* SPDX-License-Identifier: Apache-2.0 */
/* FastCGI record framing, both ways, over connected unix sockets.
 *
 * Out: fastcgi_write_stdout, fastcgi_write_stdout_after (a head first),
 * fastcgi_write_stdout_last (and the records that end the request)
 * and fastcgi_sendfile_stdout
 * (fcgi/fastcgi-records.c) against a reader of this test that checks
 * every record header and reassembles the content, read in big reads
 * or one byte at a time, and a reader that leaves mid-record.
 *
 * In: the request body as request.c reads it (fastcgi-stdin.c, after
 * what libfcgi buffered with the parameters), from a
 * client of this test that writes the records split at odd boundaries
 * (one byte per write, headers apart from their content, everything in
 * one write), with padding, in maximal records and chunks that end
 * inside them, with records that are not content (a management record,
 * FCGI_ABORT_REQUEST), and that closes mid-record; and a connection the
 * web server keeps for its next request (FCGI_KEEP_CONN). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#include "error.h"
#include "fastcgi-records.h"
#include "request.h"
#include "fastcgi-write.h"
#include "tap.h"
#include "unix-listener.h"

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
  bool ended;                   /* the end records came, then nothing */
};

/* An empty FCGI_STDOUT record, then FCGI_END_REQUEST: status 0,
 * FCGI_REQUEST_COMPLETE. */
static const unsigned char end_records[3 * FCGI_HEADER_LEN] = {
  FCGI_VERSION_1, FCGI_STDOUT, 0, REQUEST_ID, 0, 0, 0, 0,
  FCGI_VERSION_1, FCGI_END_REQUEST, 0, REQUEST_ID, 0, 8, 0, 0,
  0, 0, 0, 0, FCGI_REQUEST_COMPLETE, 0, 0, 0,
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
    if (memcmp (h, end_records, sizeof h) == 0) {
      unsigned char end[sizeof end_records - sizeof h], more;

      r->ended = reader_read (r, end, sizeof end, &total) == sizeof end
                 && memcmp (end, end_records + sizeof h, sizeof end) == 0
                 && reader_read (r, &more, 1, &total) == 0;
      r->framing_ok = r->ended;
      break;
    }
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
 * file_fd, fastcgi_sendfile_stdout from file offset 3; or, with head,
 * fastcgi_write_stdout_after with the first head of them as the head)
 * and check what the reader reassembled.  The head is records of its
 * own, never merged with the body's. */
static void
test_write (const char *what, size_t head, size_t count, bool byte_at_a_time,
            int file_fd, bool last)
{
  unsigned char *buf = malloc (count + 1);
  struct reader r = {
    .byte_at_a_time = byte_at_a_time, .capacity = count + 1,
    .content = malloc (count + 1),
  };
  size_t want_records = (head + RECORD_CONTENT_MAX - 1) / RECORD_CONTENT_MAX
    + (count - head + RECORD_CONTENT_MAX - 1) / RECORD_CONTENT_MAX;
  pthread_t thread;
  int fds[2], w;

  for (size_t i = 0; i < count; i++)
    buf[i] = pattern (i + (file_fd >= 0 ? 3 : 0));
  socket_pair (fds, byte_at_a_time ? 4096 : 0);
  r.fd = fds[1];
  pthread_create (&thread, NULL, reader_run, &r);
  if (file_fd >= 0)
    w = fastcgi_sendfile_stdout (fds[0], REQUEST_ID, file_fd, 3, count);
  else if (last)
    w = fastcgi_write_stdout_last (fds[0], REQUEST_ID, buf, head, buf + head,
                                   count - head);
  else if (head > 0)
    w = fastcgi_write_stdout_after (fds[0], REQUEST_ID, buf, head,
                                    buf + head, count - head);
  else
    w = fastcgi_write_stdout (fds[0], REQUEST_ID, buf, count);
  close (fds[0]);
  pthread_join (thread, NULL);
  tap_ok (w == 0 && r.framing_ok && r.records == want_records
          && r.length == count && memcmp (r.content, buf, count) == 0
          && r.ended == last,
          "%s: %zu bytes in %zu records (want %zu)%s", what, r.length,
          r.records, want_records,
          r.ended ? ", then the end records" : "");
  free (buf);
  free (r.content);
}

/* A small answer and the end of its request reach the web server in
 * one write: over SOCK_SEQPACKET one writev is one packet. */
static void
test_ending_in_one_write (void)
{
  static unsigned char buf[8192], got[8192];
  size_t want = 2 * FCGI_HEADER_LEN + 4272 + sizeof end_records;
  int fds[2];
  ssize_t n;

  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = pattern (i);
  if (socketpair (AF_UNIX, SOCK_SEQPACKET, 0, fds) == -1) {
    perror ("socketpair");
    exit (1);
  }
  n = fastcgi_write_stdout_last (fds[0], REQUEST_ID, buf, 176, buf + 176,
                                 4096) == 0
      ? recv (fds[1], got, sizeof got, MSG_DONTWAIT) : -1;
  tap_ok (n == (ssize_t) want
          && memcmp (got + want - sizeof end_records, end_records,
                     sizeof end_records) == 0
          && memcmp (got + FCGI_HEADER_LEN, buf, 176) == 0
          && memcmp (got + 2 * FCGI_HEADER_LEN + 176, buf + 176, 4096) == 0,
          "a head, 4 KiB and the end records in one write (%zd bytes, want "
          "%zu)", n, want);
  close (fds[0]);
  close (fds[1]);
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

  test_write ("nothing", 0, 0, false, -1, false);
  test_write ("one byte", 0, 1, false, -1, false);
  test_write ("one full record", 0, RECORD_CONTENT_MAX, false, -1, false);
  test_write ("a record and a byte", 0, RECORD_CONTENT_MAX + 1, false, -1,
              false);
  /* More records than one writev carries (32). */
  test_write ("33 records", 0, 33 * RECORD_CONTENT_MAX - 5, false, -1, false);
  test_write ("read a byte at a time", 0, RECORD_CONTENT_MAX + 999, true,
              -1, false);
  /* A response's head and body in one writev (response_write). */
  test_write ("a head and 4 KiB", 176, 176 + 4096, false, -1, false);
  test_write ("a head alone", 300, 300, false, -1, false);
  test_write ("a head and 33 records", 200, 200 + 33 * RECORD_CONTENT_MAX + 5,
              false, -1, false);
  test_write ("a head of two records and a byte", RECORD_CONTENT_MAX + 9,
              RECORD_CONTENT_MAX + 10, true, -1, false);
  /* The last write of a response, ending the request with it. */
  test_write ("ending: nothing", 0, 0, false, -1, true);
  test_write ("ending: a head alone", 300, 300, true, -1, true);
  test_write ("ending: a head and 33 records", 200,
              200 + 33 * RECORD_CONTENT_MAX + 5, false, -1, true);
  test_write ("ending: a head of two records and a byte",
              RECORD_CONTENT_MAX + 9, RECORD_CONTENT_MAX + 10, true, -1, true);
  test_ending_in_one_write ();
  test_write ("sendfile", 0, 3 * RECORD_CONTENT_MAX + 50, false, fd, false);
  test_write ("sendfile, read a byte at a time", 0, RECORD_CONTENT_MAX + 17,
              true, fd, false);
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

/* Big enough for a body of several maximal records and chunks. */
#define STREAM_MAX (4 * 1024 * 1024)

struct stream {
  unsigned char data[STREAM_MAX];
  size_t length;
  size_t cuts[512];             /* where SPLIT_HEADERS writes end */
  size_t ncuts;
};

static void
add_record_of (struct stream *s, int request_id, int type,
               const void *content, size_t length, size_t padding)
{
  fastcgi_header_write (s->data + s->length, type, request_id, length,
                        padding);
  s->length += FCGI_HEADER_LEN;
  s->cuts[s->ncuts++] = s->length;
  if (length > 0)               /* content is NULL for empty records */
    memcpy (s->data + s->length, content, length);
  /* Padding bytes are garbage the reader must skip. */
  memset (s->data + s->length + length, 0xee, padding);
  s->length += length + padding;
  s->cuts[s->ncuts++] = s->length;
}

static void
add_record (struct stream *s, int type, const void *content, size_t length,
            size_t padding)
{
  add_record_of (s, REQUEST_ID, type, content, length, padding);
}

/* Body bytes of the pattern, from body offset done, in STDIN records
 * of stdin_record bytes with padding. */
static void
add_body (struct stream *s, size_t done, size_t body, size_t stdin_record,
          size_t padding)
{
  static unsigned char chunk[65535];

  while (done < body) {
    size_t n = body - done < stdin_record ? body - done : stdin_record;

    for (size_t i = 0; i < n; i++)
      chunk[i] = pattern (done + i);
    add_record (s, FCGI_STDIN, chunk, n, padding);
    done += n;
  }
}

/* BEGIN_REQUEST (with FCGI_KEEP_CONN when keep), the parameters of a
 * PUT of content_length bytes, appended to s. */
static void
add_request (struct stream *s, size_t content_length, bool keep)
{
  unsigned char begin[8] = { 0, FCGI_RESPONDER, keep ? FCGI_KEEP_CONN : 0 };
  unsigned char params[512];
  char length_text[32];
  size_t plen = 0;

  add_record (s, FCGI_BEGIN_REQUEST, begin, sizeof begin, 0);
  snprintf (length_text, sizeof length_text, "%zu", content_length);
  fastcgi_param_append (params, &plen, "REQUEST_METHOD", "PUT");
  fastcgi_param_append (params, &plen, "REQUEST_URI", "/images/x?flush=n");
  fastcgi_param_append (params, &plen, "CONTENT_LENGTH", length_text);
  /* The parameters split over two records, the split inside a pair. */
  add_record (s, FCGI_PARAMS, params, 20, 3);
  add_record (s, FCGI_PARAMS, params + 20, plen - 20, 0);
  add_record (s, FCGI_PARAMS, NULL, 0, 0);
}

/* A request of content_length bytes, and body bytes of the pattern in
 * STDIN records of stdin_record bytes with padding; an empty STDIN
 * record when end_stdin. */
static void
build_stream (struct stream *s, size_t content_length, size_t body,
              size_t stdin_record, size_t padding, bool end_stdin)
{
  s->length = s->ncuts = 0;
  add_request (s, content_length, false);
  add_body (s, 0, body, stdin_record, padding);
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

static struct unix_listener listener;

/* The body, read with request_read_body_full in pieces of piece bytes
 * (0: in one call), as a request handler reads it in chunks.  Returns
 * request_read_body_full's result. */
static int
read_body (struct request *req, unsigned char *body, size_t content_length,
           size_t piece)
{
  size_t done = 0;

  do {
    size_t n = content_length - done;

    if (piece && n > piece)
      n = piece;
    if (request_read_body_full (req, body + done, n) == -1)
      return -1;
    done += n;
  } while (done < content_length);
  return 0;
}

/* Serve one request of the stream: accept, parse, read the body of
 * Content-Length bytes in pieces.  Returns request_read_body_full's
 * result; *ok tells whether the parameters and the body bytes read were
 * right, and that the body was read in whole records, not by libfcgi. */
static int
serve_pieces (const struct stream *s, enum split split, size_t send,
              size_t content_length, size_t piece, bool *ok)
{
  struct client c = {
    .socket_path = listener.path, .stream = s, .split = split, .send = send,
  };
  struct request req = { .query = "" };
  unsigned char *body = malloc (content_length + 1);
  pthread_t thread;
  int r = -1;

  *ok = false;
  pthread_create (&thread, NULL, client_run, &c);
  if (FCGX_InitRequest (&req.fcgx, listener.fd, 0) == 0
      && FCGX_Accept_r (&req.fcgx) == 0 && request_parse (&req) == 0) {
    error_clear ();
    r = read_body (&req, body, content_length, piece);
    *ok = req.body_direct && strcmp (req.method, "PUT") == 0
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
  request_free (&req);
  free (body);
  return r;
}

static int
serve_one (const struct stream *s, enum split split, size_t send,
           size_t content_length, bool *ok)
{
  return serve_pieces (s, split, send, content_length, 0, ok);
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

  unix_listener_open (&listener, SOCK_STREAM, "test-fastcgi-records");
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

  /* Bodies of many records in chunks, as uploads come: maximal records
   * (65535 bytes, padded to 65536), chunks that end inside records. */
  for (int split = SPLIT_NONE; split <= SPLIT_ODD; split++) {
    size_t body = 3 * 1024 * 1024 + 5;

    if (split == SPLIT_BYTES)
      continue;
    build_stream (&s, body, body, 65535, 1, true);
    r = serve_pieces (&s, split, s.length, body, 1024 * 1024, &ok);
    tap_ok (r == 0 && ok, "body of 3 MiB in maximal records, 1 MiB chunks, %s",
            split_names[split]);
  }
  build_stream (&s, 1000003, 1000003, 8192, 0, true);
  r = serve_pieces (&s, SPLIT_NONE, s.length, 1000003, 99991, &ok);
  tap_ok (r == 0 && ok, "body of 1000003 bytes in 8 KiB records, odd chunks");

  /* A management record inside the body is not content. */
  build_stream (&s, 5000, 2000, 1000, 0, false);
  add_record_of (&s, 0, FCGI_GET_VALUES, "\x07\x00MPXS_CON", 10, 6);
  add_body (&s, 2000, 5000, 1000, 3);
  add_record (&s, FCGI_STDIN, NULL, 0, 0);
  r = serve_pieces (&s, SPLIT_HEADERS, s.length, 5000, 1500, &ok);
  tap_ok (r == 0 && ok, "a management record inside the body is skipped");

  /* The web server aborts the request mid-body. */
  build_stream (&s, 5000, 2000, 1000, 0, false);
  add_record (&s, FCGI_ABORT_REQUEST, NULL, 0, 0);
  r = serve_one (&s, SPLIT_NONE, s.length, 5000, &ok);
  tap_ok (r == -1 && error_errno () == EPIPE && ok
          && strstr (error_message (), "aborted"),
          "FCGI_ABORT_REQUEST mid-body: %s", error_message ());

  /* A record of another type in the middle of STDIN. */
  build_stream (&s, 5000, 2000, 1000, 0, false);
  add_record (&s, FCGI_DATA, "x", 1, 0);
  r = serve_one (&s, SPLIT_ODD, s.length, 5000, &ok);
  /* EPROTO (502): the web server's stream broke, not the client. */
  tap_ok (r == -1 && error_errno () == EPROTO && ok
          && strstr (error_message (), "malformed"),
          "FCGI_DATA inside STDIN: %s", error_message ());
  unix_listener_close (&listener);
}

/* ---- Kept connections (FCGI_KEEP_CONN, as nginx sends) ---- */

/* A client that sends the first request in two writes (the second,
 * hold_from onwards, after a pause: libfcgi cannot have read it while
 * it read the parameters), waits for its FCGI_END_REQUEST, and then, if
 * the connection is still open, sends the second request the same way
 * on the same connection. */
struct keep_client {
  const struct stream *first, *second;
  size_t first_hold, second_hold;
  int ends;                     /* FCGI_END_REQUEST records seen */
  bool closed_after_first;      /* EOF where the second answer would be */
};

/* Read records until an FCGI_END_REQUEST; false at EOF. */
static bool
keep_client_wait_end (int fd)
{
  unsigned char h[FCGI_HEADER_LEN], sink[65536 + 256];

  for (;;) {
    size_t length;

    if (recv (fd, h, sizeof h, MSG_WAITALL) != (ssize_t) sizeof h)
      return false;
    length = (size_t) (h[4] << 8 | h[5]) + h[6];
    if (length && recv (fd, sink, length, MSG_WAITALL) != (ssize_t) length)
      return false;
    if (h[1] == FCGI_END_REQUEST)
      return true;
  }
}

static void
keep_client_send (int fd, const struct stream *s, size_t hold)
{
  if (write (fd, s->data, hold) != (ssize_t) hold)
    return;
  usleep (100 * 1000);
  if (write (fd, s->data + hold, s->length - hold)
      != (ssize_t) (s->length - hold))
    return;
}

static void *
keep_client_run (void *arg)
{
  struct keep_client *c = arg;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  /* An answer that never comes fails the test instead of hanging it. */
  struct timeval patience = { .tv_sec = 10 };
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  char byte;

  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", listener.path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
    perror ("connect");
    exit (1);
  }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  keep_client_send (fd, c->first, c->first_hold);
  if (keep_client_wait_end (fd)) {
    c->ends++;
    /* A connection being closed shows as EOF soon after the answer; a
     * kept one shows nothing. */
    c->closed_after_first = poll (&pfd, 1, 1000) == 1
                            && recv (fd, &byte, 1, MSG_DONTWAIT) == 0;
    if (!c->closed_after_first) {
      keep_client_send (fd, c->second, c->second_hold);
      if (keep_client_wait_end (fd))
        c->ends++;
    }
  }
  close (fd);
  return NULL;
}

/* Accept one request on req (a kept connection stays in it), read
 * read_length bytes of its body, answer, finish.  Returns whether the
 * request came and its body was as sent. */
static bool
serve_kept (struct request *req, size_t read_length)
{
  unsigned char *body = malloc (read_length + 1);
  bool ok = false;

  if (FCGX_Accept_r (&req->fcgx) == 0 && request_parse (req) == 0) {
    ok = req->body_direct
         && request_read_body_full (req, body, read_length) == 0;
    for (size_t i = 0; ok && i < read_length; i++)
      ok = body[i] == pattern (i);
    response_error (req, 200, "done");
    request_end_body (req);
  }
  FCGX_Finish_r (&req->fcgx);
  request_reset (req);
  free (body);
  return ok;
}

static void
wait_for_client (void)
{
  struct pollfd pfd = { .fd = listener.fd, .events = POLLIN };

  poll (&pfd, 1, 10000);
}

static void
test_kept (void)
{
  static struct stream first, second;
  struct request req = { .query = "" };
  struct keep_client c = { .first = &first, .second = &second };
  pthread_t thread;
  bool ok1, ok2 = false;

  unix_listener_open (&listener, SOCK_STREAM, "test-fastcgi-records");
  /* Non-blocking, as in the workers: a connection dropped by libfcgi
   * makes the second FCGX_Accept_r fail instead of waiting forever. */
  fcntl (listener.fd, F_SETFL, fcntl (listener.fd, F_GETFL) | O_NONBLOCK);
  FCGX_InitRequest (&req.fcgx, listener.fd, 0);

  /* A request without a body whose end of STDIN comes late, then an
   * upload on the same connection. */
  first.length = first.ncuts = 0;
  add_request (&first, 0, true);
  c.first_hold = first.length;
  add_record (&first, FCGI_STDIN, NULL, 0, 0);
  second.length = second.ncuts = 0;
  add_request (&second, 100000, true);
  add_body (&second, 0, 100000, 30000, 2);
  c.second_hold = second.cuts[second.ncuts - 3];
  add_record (&second, FCGI_STDIN, NULL, 0, 0);
  pthread_create (&thread, NULL, keep_client_run, &c);
  wait_for_client ();
  ok1 = serve_kept (&req, 0);
  if (req.fcgx.ipcFd >= 0)
    ok2 = serve_kept (&req, 100000);
  pthread_join (thread, NULL);
  tap_ok (ok1 && ok2 && c.ends == 2 && !c.closed_after_first,
          "kept connection: the late end of STDIN is read, the next request "
          "on the same connection is served (%d answers)", c.ends);
  if (req.fcgx.ipcFd >= 0)
    FCGX_Free (&req.fcgx, 1);

  /* An upload answered without reading its body: the connection is
   * closed after the answer, never taken for the next request. */
  memset (&c, 0, sizeof c);
  c.first = &second;
  c.second = &second;
  c.first_hold = second.cuts[2];
  pthread_create (&thread, NULL, keep_client_run, &c);
  wait_for_client ();
  ok1 = serve_kept (&req, 0);
  pthread_join (thread, NULL);
  tap_ok (ok1 && c.ends == 1 && c.closed_after_first && req.fcgx.ipcFd < 0,
          "kept connection: a body left unread closes it after the answer");
  request_free (&req);
  unix_listener_close (&listener);
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
  test_kept ();
  return tap_done ();
}
