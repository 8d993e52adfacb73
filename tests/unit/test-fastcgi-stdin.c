/* SPDX-License-Identifier: Apache-2.0 */
/* The start of a request body, as the workers read it: libfcgi reads
 * the parameters (FCGX_Accept_r), libfcgi_buffered_stdin hands over
 * what libfcgi read beyond them, and fastcgi-stdin.c reads the STDIN
 * records from there.
 *
 * Every stream comes over a unix SOCK_SEQPACKET connection: each packet
 * the test sends is exactly what one read of libfcgi or one readv of the
 * reader gets, so where the stream is cut is where the reads end.  A
 * stream is cut at every byte boundary twice over: the first cut decides
 * where libfcgi's last read ends (inside the parameters, at their end,
 * inside the first STDIN header, its content, its padding, ...), so
 * libfcgi's buffer is handed over in every state; the second cut splits
 * the reader's reads everywhere after that.  And again with every byte
 * in a read of its own after the first cut.  The body is read 1 and 4096
 * bytes at a time (content kept for the next call, or moved within the
 * caller's buffer).
 *
 * Streams: padded records, empty ones, records that are not ours,
 * padding on the end record, and the ones that must fail, with the
 * errno and the message naming the bytes that came: a second
 * FCGI_BEGIN_REQUEST or an FCGI_PARAMS record where STDIN begins, a
 * record of another type or version mid-body, bytes after the end
 * record, FCGI_ABORT_REQUEST, a connection that closes early. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "fastcgi-stdin.h"
#include "libfcgi-buffered.h"
#include "fastcgi-write.h"
#include "tap.h"
#include "unix-listener.h"

#define REQUEST_ID 7
#define STREAM_MAX 1024
#define BODY_MAX 256

struct stream {
  unsigned char data[STREAM_MAX];
  size_t length;
  size_t stdin_start;           /* where STDIN begins, after the params */
  unsigned char body[BODY_MAX]; /* the content of our STDIN records */
  size_t body_length;
};

static void
add_record (struct stream *s, int type, int request_id, size_t length,
            size_t padding)
{
  fastcgi_header_write (s->data + s->length, type, request_id, length,
                        padding);
  s->length += FCGI_HEADER_LEN;
  /* Content that tells records apart; padding is garbage to skip. */
  for (size_t i = 0; i < length; i++)
    s->data[s->length + i] = (unsigned char) (type * 16 + i);
  memset (s->data + s->length + length, 0xee, padding);
  s->length += length + padding;
}

/* A record of our STDIN: its content is the next bytes of the body. */
static void
add_stdin (struct stream *s, size_t length, size_t padding)
{
  size_t start = s->length + FCGI_HEADER_LEN;

  add_record (s, FCGI_STDIN, REQUEST_ID, length, padding);
  for (size_t i = 0; i < length; i++) {
    s->body[s->body_length] = (unsigned char) (0x41 + s->body_length);
    s->data[start + i] = s->body[s->body_length++];
  }
}

/* FCGI_BEGIN_REQUEST and the parameters, as lighttpd sends them but in
 * two PARAMS records, the first padded. */
static void
start_stream (struct stream *s)
{
  unsigned char params[256];
  size_t plen = 0, first;

  s->length = s->body_length = 0;
  add_record (s, FCGI_BEGIN_REQUEST, REQUEST_ID, 8, 0);
  memset (s->data + s->length - 8, 0, 8);
  s->data[s->length - 8 + 1] = FCGI_RESPONDER;        /* roleB0 */
  fastcgi_param_append (params, &plen, "REQUEST_METHOD", "PUT");
  fastcgi_param_append (params, &plen, "REQUEST_URI", "/images/x");
  fastcgi_param_append (params, &plen, "CONTENT_LENGTH", "180224");
  first = plen / 2;
  add_record (s, FCGI_PARAMS, REQUEST_ID, first, 3);
  memcpy (s->data + s->length - 3 - first, params, first);
  add_record (s, FCGI_PARAMS, REQUEST_ID, plen - first, 0);
  memcpy (s->data + s->length - (plen - first), params + first, plen - first);
  add_record (s, FCGI_PARAMS, REQUEST_ID, 0, 0);
  s->stdin_start = s->length;
}

/* ---- The streams ---- */

struct body_case {
  const char *name;
  void (*build) (struct stream *s);
  int errnum;                   /* 0: the whole body, then the end */
  /* On EPROTO: what the message must say. */
  const char *detail;
  /* Bytes after the end record are seen when they come with the end
   * (EPROTO from a read or from finishing), not waited for: the whole
   * body and success is right too. */
  bool fails_late;
};

static void
padded_records (struct stream *s)
{
  add_stdin (s, 3, 5);
  add_stdin (s, 8, 0);
  add_stdin (s, 1, 7);
  add_stdin (s, 13, 3);
  add_stdin (s, 0, 0);
}

static void
records_not_ours (struct stream *s)
{
  add_stdin (s, 2, 6);
  add_record (s, FCGI_GET_VALUES, FCGI_NULL_REQUEST_ID, 10, 6);
  add_record (s, FCGI_STDIN, REQUEST_ID + 1, 4, 4);
  add_stdin (s, 5, 3);
  add_stdin (s, 0, 0);
}

static void
empty_body (struct stream *s)
{
  add_stdin (s, 0, 0);
}

static void
padded_end (struct stream *s)
{
  add_stdin (s, 4, 4);
  add_stdin (s, 0, 8);
}

/* What a web server that sends the request again on the same
 * connection would send: the parameters have ended, and a new request
 * begins where STDIN should. */
static void
begin_again (struct stream *s)
{
  add_record (s, FCGI_BEGIN_REQUEST, REQUEST_ID, 8, 0);
  add_record (s, FCGI_PARAMS, REQUEST_ID, 16, 0);
  add_stdin (s, 4, 4);
  add_stdin (s, 0, 0);
}

static void
params_again (struct stream *s)
{
  add_record (s, FCGI_PARAMS, REQUEST_ID, 5, 3);
  add_stdin (s, 4, 4);
  add_stdin (s, 0, 0);
}

static void
data_mid_body (struct stream *s)
{
  add_stdin (s, 6, 2);
  add_record (s, FCGI_DATA, REQUEST_ID, 1, 7);
  add_stdin (s, 0, 0);
}

static void
version_2_mid_body (struct stream *s)
{
  add_stdin (s, 6, 2);
  add_record (s, FCGI_STDIN, REQUEST_ID, 2, 6);
  s->data[s->length - 16] = 2;
  add_stdin (s, 0, 0);
}

static void
bytes_after_end (struct stream *s)
{
  add_stdin (s, 3, 5);
  add_stdin (s, 0, 0);
  memcpy (s->data + s->length, "\x01\x06\x00\x07\x00\x00\x00\x00", 8);
  s->length += 8;
}

static void
abort_mid_body (struct stream *s)
{
  add_stdin (s, 5, 3);
  add_record (s, FCGI_ABORT_REQUEST, REQUEST_ID, 0, 0);
}

static const struct body_case cases[] = {
  { "padded records", padded_records, 0, NULL, false },
  { "a management record and another request's record", records_not_ours,
    0, NULL, false },
  { "an empty body: the end record only", empty_body, 0, NULL, false },
  { "padding on the end record", padded_end, 0, NULL, false },
  { "FCGI_BEGIN_REQUEST where STDIN begins", begin_again, EPROTO,
    "record header 01 01 00 07 00 08 00 00 (FCGI_BEGIN_REQUEST, request 7, "
    "content 8, padding 0) at byte 0 of request 7's FCGI_STDIN stream",
    false },
  { "FCGI_PARAMS after the parameters ended", params_again, EPROTO,
    "record header 01 04 00 07 00 05 03 00 (FCGI_PARAMS, request 7, "
    "content 5, padding 3) at byte 0 of", false },
  { "FCGI_DATA mid-body", data_mid_body, EPROTO,
    "record header 01 08 00 07 00 01 07 00 (FCGI_DATA, request 7, content 1, "
    "padding 7) at byte 16 of", false },
  { "a header of version 2 mid-body", version_2_mid_body, EPROTO,
    "record header 02 05 00 07 00 02 06 00 (version 2) at byte 16 of", false },
  { "bytes after the end record", bytes_after_end, EPROTO,
    "at byte 24 of request 7's FCGI_STDIN stream", true },
  { "FCGI_ABORT_REQUEST mid-body", abort_mid_body, ECONNABORTED, NULL,
    false },
};

/* ---- One connection ---- */

static struct unix_listener listener;

/* The web server's side: s->data[0, send) in packets that end at
 * cuts[] (ascending), then the rest in one packet, or one byte per
 * packet when bytewise; then it closes its side. */
struct sender {
  int fd;
  const struct stream *s;
  size_t send;
  const size_t *cuts;
  size_t ncuts;
  bool bytewise;
};

static void *
sender_run (void *arg)
{
  const struct sender *w = arg;
  size_t pos = 0;

  for (size_t i = 0; i < w->ncuts; i++) {
    if (w->cuts[i] <= pos || w->cuts[i] >= w->send)
      continue;
    if (send (w->fd, w->s->data + pos, w->cuts[i] - pos, MSG_NOSIGNAL) == -1)
      goto out;
    pos = w->cuts[i];
  }
  while (pos < w->send) {
    size_t n = w->bytewise ? 1 : w->send - pos;

    /* Fails once the worker side is closed: it stopped reading. */
    if (send (w->fd, w->s->data + pos, n, MSG_NOSIGNAL) == -1)
      goto out;
    pos += n;
  }
out:
  shutdown (w->fd, SHUT_WR);
  return NULL;
}

struct outcome {
  unsigned char body[BODY_MAX];
  size_t body_length;
  int errnum;                   /* 0: the end came, and finishing worked */
  bool from_finish;             /* the error came from finishing */
  bool all_consumed;            /* nothing left unread on the connection */
  char detail[512];
};

/* Serve one connection as a worker does, reading the body count bytes
 * at a time.  Returns false when libfcgi did not hand the body over. */
static bool
serve (struct sender *w, size_t count, struct outcome *o)
{
  static struct fastcgi_stdin in;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval patience = { .tv_sec = 5 };
  FCGX_Request fcgx;
  const unsigned char *buffered;
  size_t buffered_length;
  unsigned char buf[4096];
  bool handed_over = false;
  pthread_t thread;

  w->fd = socket (AF_UNIX, SOCK_SEQPACKET, 0);
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", listener.path);
  if (w->fd == -1
      || connect (w->fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
    perror ("connect");
    exit (1);
  }
  pthread_create (&thread, NULL, sender_run, w);
  memset (o, 0, sizeof *o);
  FCGX_InitRequest (&fcgx, listener.fd, 0);
  if (FCGX_Accept_r (&fcgx) == 0
      && libfcgi_buffered_stdin (&fcgx, &buffered, &buffered_length) == 0
      && fastcgi_stdin_start (&in, fcgx.ipcFd, fcgx.requestId, buffered,
                              buffered_length) == 0) {
    ssize_t n;

    handed_over = true;
    /* A reader that waits for bytes that never come fails the test
     * instead of hanging it. */
    setsockopt (fcgx.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &patience,
                sizeof patience);
    while ((n = fastcgi_stdin_read (&in, buf, count)) > 0) {
      if (o->body_length + (size_t) n > sizeof o->body)
        break;
      memcpy (o->body + o->body_length, buf, (size_t) n);
      o->body_length += (size_t) n;
    }
    if (n == -1)
      o->errnum = errno;
    else if (fastcgi_stdin_finish (&in) == -1) {
      o->errnum = errno;
      o->from_finish = true;
    }
    /* The sender closes after its last packet: at a record boundary,
     * nothing is left but the end of the connection. */
    o->all_consumed = recv (fcgx.ipcFd, buf, sizeof buf, 0) == 0;
    fastcgi_stdin_describe_error (&in, o->detail, sizeof o->detail);
  }
  FCGX_Finish_r (&fcgx);
  pthread_join (thread, NULL);
  close (w->fd);
  return handed_over;
}

/* Whether the outcome is what the case wants; why not in why. */
static bool
outcome_right (const struct body_case *c, const struct stream *s,
               const struct outcome *o, char *why, size_t size)
{
  if (c->errnum == 0) {
    if (o->errnum) {
      snprintf (why, size, "failed: %s%s%s", strerror (o->errnum),
                o->detail[0] ? ": " : "", o->detail);
      return false;
    }
    if (o->body_length != s->body_length
        || memcmp (o->body, s->body, s->body_length) != 0) {
      snprintf (why, size, "body of %zu bytes, not the %zu sent",
                o->body_length, s->body_length);
      return false;
    }
    if (!o->all_consumed) {
      snprintf (why, size, "bytes of the request left unread");
      return false;
    }
    return true;
  }
  if (c->fails_late && o->errnum == 0 && o->body_length == s->body_length
      && memcmp (o->body, s->body, s->body_length) == 0)
    return true;
  if (o->errnum != c->errnum || (o->from_finish && !c->fails_late)) {
    snprintf (why, size, "%s%s, not %s", o->from_finish ? "finishing: " : "",
              o->errnum ? strerror (o->errnum) : "success",
              strerror (c->errnum));
    return false;
  }
  /* What came before the broken record was content, and right. */
  if (o->body_length > s->body_length
      || memcmp (o->body, s->body, o->body_length) != 0) {
    snprintf (why, size, "wrong content before the error");
    return false;
  }
  if (c->detail && !strstr (o->detail, c->detail)) {
    snprintf (why, size, "message \"%s\" does not say \"%s\"", o->detail,
              c->detail);
    return false;
  }
  return true;
}

static const size_t counts[] = { 1, 4096 };
#define NCOUNTS (sizeof counts / sizeof counts[0])

/* Cut at first (libfcgi's last read ends there, or earlier) and at
 * every later boundary; or at first and then between every byte. */
static void
test_case (const struct body_case *c, bool bytewise)
{
  static struct stream s;
  struct outcome o;
  size_t runs = 0, failures = 0;
  char why[1024] = "", first_failure[1200] = "";

  start_stream (&s);
  c->build (&s);
  /* From inside the last PARAMS header (earlier cuts leave libfcgi with
   * the same buffer as one there) to well into the body. */
  for (size_t first = s.stdin_start - 3;
       first <= s.length && first <= s.stdin_start + 40; first++) {
    for (size_t second = bytewise ? first : first + 1;
         second <= s.length; second++) {
      for (size_t k = 0; k < NCOUNTS; k++) {
        size_t cuts[2] = { first, second };
        struct sender w = {
          .s = &s, .send = s.length, .cuts = cuts, .ncuts = 2,
          .bytewise = bytewise,
        };

        runs++;
        if (!serve (&w, counts[k], &o))
          snprintf (why, sizeof why, "libfcgi did not hand the body over");
        else if (outcome_right (c, &s, &o, why, sizeof why))
          continue;
        if (failures++ == 0)
          snprintf (first_failure, sizeof first_failure,
                    ": first with cuts at %zu and %zu, reads of %zu: %s",
                    first, second, counts[k], why);
      }
      if (bytewise)
        break;
    }
  }
  tap_ok (failures == 0, "%s, %s: %zu of %zu runs right%s", c->name,
          bytewise ? "one byte per read" : "cut twice everywhere",
          runs - failures, runs, first_failure);
}

/* The connection closes at every point before the end record is
 * complete: EPIPE, never a short body taken for a whole one. */
static void
test_cut_short (void)
{
  static struct stream s;
  struct outcome o;
  size_t runs = 0, failures = 0, end;

  start_stream (&s);
  padded_records (&s);
  end = s.length;
  for (size_t send = s.stdin_start; send < end; send++) {
    size_t cuts[1] = { s.stdin_start };
    struct sender w = {
      .s = &s, .send = send, .cuts = cuts, .ncuts = 1, .bytewise = false,
    };

    runs++;
    if (!serve (&w, 3, &o) || o.errnum != EPIPE
        || memcmp (o.body, s.body, o.body_length) != 0)
      failures++;
  }
  tap_ok (failures == 0, "connection closed before the end record: EPIPE "
          "in %zu of %zu runs", runs - failures, runs);
}

/* Whether the end record is among the bytes libfcgi read ahead, judged
 * without reading the connection (fd -1: a read would fail): after a
 * bodyless request the worker closes at once when it is. */
static void
test_ended_buffered (void)
{
  static struct stream s;
  static struct fastcgi_stdin in;
  unsigned char buf[16];
  size_t end_start;
  bool ended;

  s.length = s.body_length = 0;
  add_record (&s, FCGI_GET_VALUES, FCGI_NULL_REQUEST_ID, 4, 4);
  end_start = s.length;
  add_stdin (&s, 0, 3);
  fastcgi_stdin_start (&in, -1, REQUEST_ID, s.data, s.length);
  tap_ok (fastcgi_stdin_ended_buffered (&in),
          "a management record, then the end record with padding: ended");
  tap_ok (fastcgi_stdin_read (&in, buf, sizeof buf) == 0,
          "and reading then gives the end of the body");

  for (size_t cut = end_start; cut < s.length; cut++) {
    fastcgi_stdin_start (&in, -1, REQUEST_ID, s.data, cut);
    if (fastcgi_stdin_ended_buffered (&in)) {
      tap_ok (false, "end record cut after %zu of its %zu bytes: ended",
              cut - end_start, s.length - end_start);
      break;
    }
    if (cut + 1 == s.length)
      tap_ok (true, "end record cut anywhere (%zu places): not ended",
              s.length - end_start);
  }

  s.length = s.body_length = 0;
  add_stdin (&s, 3, 1);
  add_stdin (&s, 0, 0);
  fastcgi_stdin_start (&in, -1, REQUEST_ID, s.data, s.length);
  ended = fastcgi_stdin_ended_buffered (&in);
  tap_ok (!ended && fastcgi_stdin_read (&in, buf, sizeof buf) == 3
          && memcmp (buf, s.body, 3) == 0
          && fastcgi_stdin_read (&in, buf, sizeof buf) == 0,
          "content before the end record: not ended, and the content is "
          "still read whole");

  s.length = s.body_length = 0;
  add_stdin (&s, 0, 0);
  add_record (&s, FCGI_STDIN, REQUEST_ID, 0, 0);
  fastcgi_stdin_start (&in, -1, REQUEST_ID, s.data, s.length);
  tap_ok (!fastcgi_stdin_ended_buffered (&in),
          "bytes after the end record: not ended");
}

int
main (void)
{
  if (FCGX_Init () != 0) {
    tap_ok (false, "FCGX_Init");
    return tap_done ();
  }
  unix_listener_open (&listener, SOCK_SEQPACKET, "test-fastcgi-stdin");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_case (&cases[i], false);
    test_case (&cases[i], true);
  }
  test_cut_short ();
  test_ended_buffered ();
  unix_listener_close (&listener);
  return tap_done ();
}
