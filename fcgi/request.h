/* SPDX-License-Identifier: Apache-2.0 */
/* One FastCGI request: CGI parameters in, a response out.
 *
 * Wraps libfcgi's FCGX_Request.  Headers are collected with
 * response_header and formatted with the status line by response_begin;
 * bodies are streamed with response_write, which writes FastCGI records
 * of up to 64 KiB straight to the connection instead of libfcgi's 8 KiB
 * records (see DESIGN.md: measured ~40% faster).  The head waits for the
 * first body bytes, so a small response is one write (response_finish
 * sends a head without a body).
 */
#ifndef IMAGEXFER_REQUEST_H
#define IMAGEXFER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "fastcgi-accept.h"
#include "fastcgi-stdin.h"

struct request {
  FCGX_Request fcgx;
  /* Who sent the parameters: on TCP, anyone who could connect
   * (fastcgi-accept.h). */
  enum fastcgi_peer fastcgi_peer;

  /* Parsed from the CGI parameters. */
  const char *method;         /* "GET", ... */
  char *path;                 /* REQUEST_URI path, percent-decoded */
  const char *query;          /* after '?', or "" */
  bool has_content_length;
  uint64_t content_length;
  uint64_t body_read;         /* body bytes consumed so far */
  /* The body is read from the connection in whole records
   * (fastcgi-stdin.h); false only when libfcgi's buffer could not be
   * taken over, and then libfcgi's stream reads it. */
  bool body_direct;
  struct fastcgi_stdin body_in;

  /* Response state. */
  int status;                 /* 0 until response_begin */
  bool close_connection;      /* ask the web server to close (403s) */
  /* Origins that get CORS headers (config cors_origins; /images only),
   * NULL for none. */
  const char *const *cors_origins;
  size_t header_count;
  size_t header_capacity;
  char **headers;             /* "Name: value\r\n" lines */
  bool header_failed;         /* a header could not be built: answer 500 */
  /* The status line and headers response_begin formatted, not yet
   * written: they go out in the same write as the first body bytes, or
   * by response_finish.  The buffer is kept across requests. */
  char *head;
  size_t head_length;
  size_t head_capacity;
  uint64_t body_sent;         /* body bytes written so far */
  /* The body the headers announced (Content-Length; none for HEAD):
   * once it is out, the answer is complete for the client. */
  bool body_has_length;
  uint64_t body_length;
  bool failed;                /* the response cannot be completed */
  /* Called once, just before the write that completes the answer for
   * the client: its last body byte, or the headers of an answer without
   * a body (HEAD, Content-Length: 0); or when the answer is cut
   * (response_abort) or handed to the web server (response_answered).
   * A web server that streams (lighttpd: stream-response-body) hands
   * the client a complete answer before our FCGI_END_REQUEST, while
   * this worker may still be closing the backend, and the client may
   * send its next request at once: what that request must find done
   * (the place under the per-transfer caps given back) is done here.
   * NULL: nothing to do. */
  void (*on_answered) (void);

  struct timespec started;     /* CLOCK_MONOTONIC, for the access log */
};

/* Fill the parsed fields after FCGX_Accept_r; resets the response
 * state.  Returns 0, or -1 when the parameters are unusable (the caller
 * answers 400). */
int request_parse (struct request *req);
/* Free what request_parse and response_header allocated. */
void request_reset (struct request *req);
/* The same, and the buffers request_reset keeps for the next request
 * (the header list, the head): when req is done with. */
void request_free (struct request *req);

/* A CGI parameter ("REQUEST_METHOD") or an HTTP header by its HTTP name
 * ("Content-Range" -> HTTP_CONTENT_RANGE; Content-Type and
 * Content-Length map to the CGI names).  NULL when absent. */
const char *request_param (struct request *req, const char *name);
const char *request_header (struct request *req, const char *name);

/* The client's address as the web server saw it (REMOTE_ADDR), for
 * the log; "-" when the web server did not pass it. */
const char *request_client (struct request *req);

/* Value of a query parameter (not decoded; our values are plain words),
 * or NULL.  "flush=n&x=1": request_query (req, "flush") -> "n".  A value
 * that does not fit in buf is cut and ends with "...", which no value
 * parser accepts. */
const char *request_query (struct request *req, const char *key,
                           char *buf, size_t bufsize);

/* After the response: make sure the connection is at a record boundary
 * when the web server keeps it for another request (FCGI_KEEP_CONN,
 * nginx): read the rest of this request's STDIN stream, or have libfcgi
 * close the connection when the body was not read to its end.  A
 * connection the web server does not keep is closed at once after a
 * request without a body, without libfcgi's lingering close. */
void request_end_body (struct request *req);

/* Read up to count body bytes; returns bytes read (0 at the end of the
 * body), -1 on a broken connection.  Never reads past Content-Length. */
ssize_t request_read_body (struct request *req, void *buf, size_t count);
/* Read exactly count bytes or fail: -1 with error_set (EPIPE,
 * "client sent N of M bytes") when the body ends early. */
int request_read_body_full (struct request *req, void *buf, size_t count);

/* Add a response header; the value is formatted.  Call before
 * response_begin. */
void response_header (struct request *req, const char *name,
                      const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Format the status line, Content-Length (when has_length),
 * Content-Type (when not NULL) and the collected headers; they are sent
 * with the first body bytes or by response_finish.  Returns 0, or -1
 * when the head cannot be built (the response is then failed). */
int response_begin (struct request *req, int status, const char *content_type,
                    bool has_length, uint64_t length);

/* The web server sends the body itself (X-Sendfile2): the answer is
 * complete for the client once the headers are out, so on_answered is
 * called now.  Call before response_begin. */
void response_answered (struct request *req);

/* Stream body bytes.  Returns 0, or -1 when the client is gone. */
int response_write (struct request *req, const void *buf, size_t count);

/* Stream count bytes of file_fd from offset, copied by the kernel.
 * Returns 0, or -1 (errno EPIPE: the client is gone). */
int response_sendfile (struct request *req, int file_fd, uint64_t offset,
                       uint64_t count);

/* A complete JSON response (takes a reference of body, does not put
 * it). */
int response_json (struct request *req, int status, json_object *body);

/* A complete {"error": "..."} response. */
int response_error (struct request *req, int status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Abort a response whose headers went out: the web server sees the
 * connection to us break and closes the client's connection, so the
 * client never takes a short body for a complete one. */
void response_abort (struct request *req);

/* After the handler: send a head still waiting for a body (a response
 * without one, such as HEAD or a 204). */
void response_finish (struct request *req);

#endif
