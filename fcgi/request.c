/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "fastcgi-records.h"
#include "http-status.h"
#include "libfcgi-buffered.h"
#include "log.h"
#include "request.h"
#include "text-parse.h"

/* How long an aborted response waits to tell the web server it is
 * broken (fastcgi_write_broken): a stalled web server must not hold the
 * worker. */
#define RESPONSE_ABORT_WAIT_MS 2000

void
request_reset (struct request *req)
{
  free (req->path);
  req->path = NULL;
  for (size_t i = 0; i < req->header_count; i++)
    free (req->headers[i]);
  req->header_count = 0;
  req->header_failed = false;
  req->method = NULL;
  req->query = "";
  req->has_content_length = false;
  req->content_length = 0;
  req->body_read = 0;
  req->status = 0;
  req->close_connection = false;
  req->cors_origins = NULL;
  req->head_length = 0;
  req->body_sent = 0;
  req->body_has_length = false;
  req->body_length = 0;
  req->failed = false;
  req->on_answered = NULL;
}

void
request_free (struct request *req)
{
  request_reset (req);
  free (req->headers);
  req->headers = NULL;
  req->header_capacity = 0;
  free (req->head);
  req->head = NULL;
  req->head_capacity = 0;
}

static bool warned_slow_bodies;

int
request_parse (struct request *req)
{
  const char *uri, *question, *length;

  const unsigned char *buffered;
  size_t buffered_length;

  request_reset (req);
  clock_gettime (CLOCK_MONOTONIC, &req->started);
  error_clear ();

  req->body_direct =
    libfcgi_buffered_stdin (&req->fcgx, &buffered, &buffered_length) == 0
    && fastcgi_stdin_start (&req->body_in, req->fcgx.ipcFd,
                            req->fcgx.requestId, buffered,
                            buffered_length) == 0;
  /* Once per worker: it is a fact of the libfcgi installed, not of the
   * request. */
  if (!req->body_direct && !warned_slow_bodies) {
    warned_slow_bodies = true;
    log_warning ("libfcgi's input buffer is not as expected: request "
                 "bodies are read through libfcgi (slower)");
  }

  req->method = request_param (req, "REQUEST_METHOD");
  if (!req->method)
    req->method = "";
  uri = request_param (req, "REQUEST_URI");
  if (!uri) {
    error_set (EINVAL, "request without REQUEST_URI");
    return -1;
  }
  question = strchr (uri, '?');
  req->query = question ? question + 1 : "";
  req->path = percent_decode (uri, question ? (size_t) (question - uri)
                                            : strlen (uri));
  if (!req->path) {
    error_set (EINVAL, "malformed percent-encoding in the request path");
    return -1;
  }

  length = request_param (req, "CONTENT_LENGTH");
  if (length && *length) {
    if (!parse_decimal (length, &req->content_length)) {
      error_set (EINVAL, "malformed Content-Length");
      return -1;
    }
    req->has_content_length = true;
  }
  return 0;
}

const char *
request_param (struct request *req, const char *name)
{
  return FCGX_GetParam (name, req->fcgx.envp);
}

const char *
request_client (struct request *req)
{
  const char *addr = request_param (req, "REMOTE_ADDR");

  /* One word, or the log line could be made to say something else. */
  if (addr == NULL || addr[0] == '\0')
    return "-";
  for (const char *p = addr; *p; p++)
    if (*p <= ' ' || *p >= 0x7f)
      return "-";
  return addr;
}

const char *
request_header (struct request *req, const char *name)
{
  char cgi_name[128] = "HTTP_";
  size_t j = 5;

  if (strcasecmp (name, "Content-Type") == 0)
    return request_param (req, "CONTENT_TYPE");
  if (strcasecmp (name, "Content-Length") == 0)
    return request_param (req, "CONTENT_LENGTH");
  for (; *name && j < sizeof cgi_name - 1; name++)
    cgi_name[j++] = *name == '-' ? '_' : (char) toupper ((unsigned char) *name);
  cgi_name[j] = '\0';
  return request_param (req, cgi_name);
}

const char *
request_query (struct request *req, const char *key, char *buf,
               size_t bufsize)
{
  size_t key_len = strlen (key);
  const char *p = req->query;

  while (*p) {
    const char *end = strchr (p, '&');
    size_t len = end ? (size_t) (end - p) : strlen (p);

    if (len >= key_len && strncmp (p, key, key_len) == 0
        && (len == key_len || p[key_len] == '=')) {
      const char *value = len == key_len ? "" : p + key_len + 1;
      size_t value_len = len == key_len ? 0 : len - key_len - 1;

      if (value_len >= bufsize && bufsize > 4) {
        /* Cut, and marked so: no parser takes it, and a message quoting
         * it shows the cut ("000...1048576" must not read as 1 MiB). */
        memcpy (buf, value, bufsize - 4);
        memcpy (buf + bufsize - 4, "...", 4);
        return buf;
      }
      if (value_len >= bufsize)
        value_len = bufsize - 1;
      memcpy (buf, value, value_len);
      buf[value_len] = '\0';
      return buf;
    }
    p += len;
    if (*p == '&')
      p++;
  }
  return NULL;
}

ssize_t
request_read_body (struct request *req, void *buf, size_t count)
{
  uint64_t remaining = req->content_length - req->body_read;
  ssize_t n;

  if (!req->has_content_length || remaining == 0)
    return 0;
  if (count > remaining)
    count = (size_t) remaining;
  if (req->body_direct)
    n = fastcgi_stdin_read (&req->body_in, buf, count);
  else
    n = FCGX_GetStr (buf, count > INT32_MAX ? INT32_MAX : (int) count,
                     req->fcgx.in);
  if (n < 0)
    return -1;
  req->body_read += (uint64_t) n;
  return n;
}

/* Why the body stopped coming, for the message. */
static const char *
body_failure (struct request *req)
{
  int errnum = req->body_direct ? req->body_in.error
                                : FCGX_GetError (req->fcgx.in);

  switch (errnum) {
  case EAGAIN:
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
    return "stopped sending (client_timeout)";
  case EPROTO:
    return "was cut off by a malformed FastCGI record";
  case ECONNABORTED:
    return "was aborted by the web server";
  default:
    return "went away";
  }
}

/* libfcgi closes a connection the web server does not keep with a
 * lingering close: shutdown, then wait (up to 2 s) reading until the web
 * server closes its side, so that data the web server still sends cannot
 * reset the connection before it has read the response.  A request
 * without a body was sent whole before its parameters were read
 * (BEGIN, PARAMS and the empty STDIN record in one write), so nothing
 * more is coming: read what is there and close at once.  The worker
 * then waits for its next connection without first sleeping until the
 * web server's close, one context switch less per small request. */
/* Known to come without a body: Content-Length 0, or no length and a
 * method that carries none.  A chunked upload the web server streams
 * without a length is not one. */
static bool
request_has_no_body (const struct request *req)
{
  static const char *const bodyless[] = { "GET", "HEAD", "OPTIONS", "DELETE" };

  if (req->has_content_length)
    return req->content_length == 0;
  for (size_t i = 0; i < sizeof bodyless / sizeof bodyless[0]; i++)
    if (req->method && strcmp (req->method, bodyless[i]) == 0)
      return true;
  return false;
}

static void
close_promptly (struct request *req)
{
  char trash[64];
  ssize_t n = -1;

  if (req->fcgx.keepConnection || req->fcgx.ipcFd < 0 || req->failed
      || !request_has_no_body (req))
    return;
  /* Usually libfcgi read the end record with the parameters. */
  if (req->body_direct && fastcgi_stdin_ended_buffered (&req->body_in)) {
    FCGX_Detach (&req->fcgx);
    return;
  }
  /* The end record is 8 bytes; more than a few reads of data means the
   * web server is still sending: leave that to libfcgi. */
  for (int i = 0; i < 4; i++) {
    n = recv (req->fcgx.ipcFd, trash, sizeof trash, MSG_DONTWAIT);
    if (n <= 0)
      break;
  }
  if (n == 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)))
    FCGX_Detach (&req->fcgx);
}

void
request_end_body (struct request *req)
{
  bool body_done = !req->has_content_length
                   || req->body_read == req->content_length;

  /* Without FCGI_KEEP_CONN libfcgi closes the connection anyway. */
  if (!req->fcgx.keepConnection || req->fcgx.ipcFd < 0) {
    close_promptly (req);
    return;
  }
  if (req->body_direct && !req->failed && body_done
      && fastcgi_stdin_finish (&req->body_in) == 0)
    return;
  /* STDIN records of this request still to come would be read by
   * FCGX_Accept_r as the start of the next request: it drops the
   * connection at the first one, and with it the request the web server
   * may have sent on it.  Closing after this response is cleaner. */
  req->fcgx.keepConnection = 0;
  close_promptly (req);
}


int
request_read_body_full (struct request *req, void *buf, size_t count)
{
  char *p = buf;

  while (count > 0) {
    ssize_t n = request_read_body (req, p, count);
    if (n <= 0) {
      /* A malformed record is the web server's stream going wrong, not
       * the client's doing: EPROTO (502), not EPIPE (400).  Which bytes
       * came, and where, tells a web server's bug from ours. */
      bool malformed = req->body_direct && req->body_in.error == EPROTO;
      char detail[512];

      if (malformed)
        fastcgi_stdin_describe_error (&req->body_in, detail, sizeof detail);
      error_set (malformed ? EPROTO : EPIPE, "client %s after %" PRIu64
                 " of %" PRIu64 " bytes%s%s", body_failure (req),
                 req->body_read, req->content_length,
                 malformed && detail[0] ? ": " : "",
                 malformed ? detail : "");
      return -1;
    }
    p += n;
    count -= (size_t) n;
  }
  return 0;
}

void
response_header (struct request *req, const char *name, const char *fmt, ...)
{
  char *value, *line;
  va_list args;
  int r;

  va_start (args, fmt);
  r = vasprintf (&value, fmt, args);
  va_end (args);
  if (r == -1 || asprintf (&line, "%s: %s\r\n", name, value) == -1) {
    if (r != -1)
      free (value);
    /* A response without one of its headers could mislead the client
     * (an X-Sendfile2 lost means an empty body): fail it instead. */
    req->header_failed = true;
    return;
  }
  free (value);
  if (req->header_count == req->header_capacity) {
    size_t capacity = req->header_capacity ? req->header_capacity * 2 : 8;
    char **headers = realloc (req->headers, capacity * sizeof *headers);
    if (!headers) {
      free (line);
      req->header_failed = true;
      return;
    }
    req->headers = headers;
    req->header_capacity = capacity;
  }
  req->headers[req->header_count++] = line;
}

/* The Access-Control-Allow-Origin value for this request's Origin, or
 * NULL when it is not allowed. */
static const char *
cors_allowed_origin (struct request *req)
{
  const char *origin = request_header (req, "Origin");

  if (req->cors_origins == NULL || origin == NULL)
    return NULL;
  for (size_t i = 0; req->cors_origins[i]; i++) {
    if (strcmp (req->cors_origins[i], "*") == 0)
      return "*";
    if (strcasecmp (req->cors_origins[i], origin) == 0)
      return origin;
  }
  return NULL;
}

static void
add_cors_headers (struct request *req)
{
  const char *preflight, *allowed = cors_allowed_origin (req);

  if (allowed == NULL)
    return;
  response_header (req, "Access-Control-Allow-Origin", "%s", allowed);
  /* An answer naming one origin must not be cached for another. */
  if (strcmp (allowed, "*") != 0)
    response_header (req, "Vary", "Origin");
  preflight = request_header (req, "Access-Control-Request-Method");
  if (preflight && strcmp (req->method, "OPTIONS") == 0) {
    response_header (req, "Access-Control-Allow-Headers", "*");
    response_header (req, "Access-Control-Max-Age", "86400");
  }
}

/* Append to the pending head; false when out of memory. */
static bool __attribute__ ((format (printf, 2, 3)))
head_printf (struct request *req, const char *fmt, ...)
{
  for (;;) {
    size_t room = req->head_capacity - req->head_length;
    va_list args;
    int n;

    va_start (args, fmt);
    n = vsnprintf (req->head ? req->head + req->head_length : NULL, room,
                   fmt, args);
    va_end (args);
    if (n < 0)
      return false;
    if ((size_t) n < room) {
      req->head_length += (size_t) n;
      return true;
    }
    size_t capacity = req->head_capacity ? req->head_capacity : 512;
    while (capacity - req->head_length <= (size_t) n)
      capacity *= 2;
    char *head = realloc (req->head, capacity);
    if (head == NULL)
      return false;
    req->head = head;
    req->head_capacity = capacity;
  }
}

/* Whether writing count more body bytes ends the response and may end
 * the request with them: then the records that end the request go out
 * with them (fastcgi_write_stdout_last), not in a write of their own
 * from FCGX_Finish_r, and the web server reads the end of a small answer
 * in the same wake-up as the answer.  On a connection the web server
 * keeps (nginx), only when all of the request's input is in: the web
 * server may send its next request as soon as this one has ended, and
 * no read of this one's may take that one's bytes.  There, it also lets
 * nginx put the connection back in its pool before its client can ask
 * again (with the end a write later, a client quick to ask again found
 * none and nginx opened a new connection).  Exactly the last byte
 * (unlike answer_completed_by's "at least"): no record may follow the
 * end of the request. */
static bool
ends_response (struct request *req, uint64_t count)
{
  if (!req->body_has_length || req->body_sent + count != req->body_length)
    return false;
  return !req->fcgx.keepConnection
         || (req->body_direct && request_has_no_body (req)
             && fastcgi_stdin_ended_buffered (&req->body_in));
}

/* Write head, then count bytes of buf (either may be empty), ending the
 * request too when they end the response; false when the connection
 * broke. */
static bool
write_response (struct request *req, const void *head, size_t head_count,
                const void *buf, size_t count)
{
  if (!ends_response (req, count))
    return fastcgi_write_stdout_after (req->fcgx.ipcFd, req->fcgx.requestId,
                                       head, head_count, buf, count) == 0;
  if (fastcgi_write_stdout_last (req->fcgx.ipcFd, req->fcgx.requestId, head,
                                 head_count, buf, count) == -1)
    return false;
  /* The end records are out: FCGX_FClose does nothing for a stream
   * already closed, so FCGX_Finish_r writes nothing more (its STDERR
   * stream wrote nothing, so it has no records of its own).  Nothing
   * was ever put in libfcgi's own buffer (response_write). */
  req->fcgx.out->wasFCloseCalled = 1;
  req->fcgx.out->isClosed = 1;
  return true;
}

/* Write the pending head on its own (ending the request with it when
 * it ends the response and may_end); false when the connection broke. */
static bool
send_head (struct request *req, bool may_end)
{
  size_t length = req->head_length;

  if (length == 0)
    return true;
  req->head_length = 0;
  if (may_end)
    return write_response (req, req->head, length, NULL, 0);
  return fastcgi_write_stdout (req->fcgx.ipcFd, req->fcgx.requestId,
                               req->head, length) == 0;
}

void
response_answered (struct request *req)
{
  void (*answered) (void) = req->on_answered;

  req->on_answered = NULL;
  if (answered)
    answered ();
}

/* Writing count more body bytes completes the answer: on_answered
 * first (request.h).  The head alone completes an answer without a
 * body; it is written later (response_finish), so this is still before
 * the client can have the answer. */
static void
answer_completed_by (struct request *req, uint64_t count)
{
  if (req->body_has_length && req->body_sent + count >= req->body_length)
    response_answered (req);
}

int
response_begin (struct request *req, int status, const char *content_type,
                bool has_length, uint64_t length)
{
  bool built;

  if (!req->header_failed) {
    req->status = status;
    add_cors_headers (req);
    if (req->close_connection)
      response_header (req, "Connection", "close");
  }
  req->head_length = 0;
  built = !req->header_failed
          && head_printf (req, "Status: %d %s\r\n", status,
                          http_status_reason (status))
          && (content_type == NULL
              || head_printf (req, "Content-Type: %s\r\n", content_type))
          && (!has_length
              || head_printf (req, "Content-Length: %" PRIu64 "\r\n",
                              length));
  for (size_t i = 0; built && i < req->header_count; i++)
    built = head_printf (req, "%s", req->headers[i]);
  if (built && head_printf (req, "\r\n")) {
    req->body_has_length = has_length;
    req->body_length =
      req->method && strcmp (req->method, "HEAD") == 0 ? 0 : length;
    answer_completed_by (req, 0);
    return 0;
  }

  log_error ("%s %s: out of memory building the response headers",
             req->method, req->path);
  req->status = 500;
  req->failed = true;
  response_answered (req);
  FCGX_FPrintF (req->fcgx.out, "Status: 500 %s\r\nContent-Length: 0\r\n\r\n",
                http_status_reason (500));
  FCGX_FFlush (req->fcgx.out);
  req->head_length = 0;
  return -1;
}

int
response_write (struct request *req, const void *buf, size_t count)
{
  size_t head_length = req->head_length;

  if (req->failed)
    return -1;
  answer_completed_by (req, count);
  /* ipcFd is below libfcgi's "don't use" line, but libfcgi has no call to
   * write a large record: its streams cut everything into 8 KiB records,
   * one write each.  Libfcgi's own stream is left empty, consistent for
   * FCGX_Finish_r. */
  req->head_length = 0;
  if (!write_response (req, req->head, head_length, buf, count)) {
    req->failed = true;
    return -1;
  }
  req->body_sent += count;
  return 0;
}

int
response_sendfile (struct request *req, int file_fd, uint64_t offset,
                   uint64_t count)
{
  if (req->failed)
    return -1;
  answer_completed_by (req, count);
  if (!send_head (req, true)
      || fastcgi_sendfile_stdout (req->fcgx.ipcFd, req->fcgx.requestId,
                                  file_fd, offset, count) == -1) {
    req->failed = true;
    return -1;
  }
  req->body_sent += count;
  return 0;
}

void
response_finish (struct request *req)
{
  if (!req->failed && req->fcgx.ipcFd >= 0 && !send_head (req, true))
    req->failed = true;
  req->head_length = 0;
}

int
response_json (struct request *req, int status, json_object *body)
{
  size_t len;
  const char *text =
    json_object_to_json_string_length (body, JSON_C_TO_STRING_PLAIN
                                      | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

  if (response_begin (req, status, "application/json", true, len) == -1)
    return -1;
  return response_write (req, text, len);
}

int
response_error (struct request *req, int status, const char *fmt, ...)
{
  char message[1024];
  json_object *body;
  va_list args;
  int r;

  va_start (args, fmt);
  vsnprintf (message, sizeof message, fmt, args);
  va_end (args);

  /* Every 403 closes the connection (API.md common rules). */
  if (status == 403)
    req->close_connection = true;
  body = json_object_new_object ();
  json_object_object_add (body, "error", json_object_new_string (message));
  r = response_json (req, status, body);
  json_object_put (body);
  return r;
}

void
response_abort (struct request *req)
{
  /* Records written so far are whole unless a write failed: a write
   * cut short (the web server stopped reading for client_timeout, the
   * file shrank under sendfile) stops inside a record. */
  bool records_whole = !req->failed;

  /* A head still waiting goes first, so the client sees the status it
   * was promised and then the cut, as when the head went out at once. */
  if (records_whole && req->fcgx.ipcFd >= 0)
    records_whole = send_head (req, false);
  req->head_length = 0;
  req->failed = true;
  response_answered (req);
  /* Cutting the connection without FCGI_END_REQUEST makes the web server
   * drop the client's connection too: a short body never looks complete.
   * SHUT_RDWR also spares libfcgi's lingering close from draining an
   * upload we no longer want. */
  /* Not once the records that end the request are out (write_response):
   * the web server is done with it, and on a connection it keeps, the
   * marker would land in its next request. */
  if (req->fcgx.ipcFd >= 0 && !(req->fcgx.out && req->fcgx.out->isClosed)) {
    /* The marker only at a record boundary: inside a record its 8 zero
     * bytes would be content, which a web server that streams (nginx)
     * may pass to the client as image bytes.  A record left incomplete
     * breaks the stream by itself. */
    if (records_whole)
      fastcgi_write_broken (req->fcgx.ipcFd, RESPONSE_ABORT_WAIT_MS);
    shutdown (req->fcgx.ipcFd, SHUT_RDWR);
  }
}
