/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend's parts (backend-http*.c): where the remote image is,
 * the handle, one exchange with the remote, and the helpers they share.
 * Private to the backend. */
#ifndef IMAGEXFER_BACKEND_HTTP_H
#define IMAGEXFER_BACKEND_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "backend.h"

/* The largest single request: a read or write is the caller's buffer (a
 * chunk, a checksum block) and never this large; it bounds one zero
 * PATCH, so zeroing a large range takes few round trips. */
#define HTTP_MAX_REQUEST (UINT64_C (1) << 30)

/* The answer to OPTIONS, an error body or a JSON reply is kept up to
 * this size; the extents list up to HTTP_EXTENTS_MAX. */
#define HTTP_SMALL_BODY_MAX 4096
#define HTTP_EXTENTS_MAX (16u * 1024 * 1024)

/* How often, at most, a transfer in progress checks for a cancel. */
#define HTTP_CANCEL_CHECK_MS 200

/* Where the image is, as the descriptor says (backend-http-descriptor.c). */
struct http_location {
  char *url;                    /* http:// or https:// */
  char *ca_file;                /* absolute path, or NULL: system CAs */
  bool insecure;                /* skip certificate checks (never default) */
  struct http_headers *headers; /* extra request headers, or NULL */
  int64_t remote_timeout;       /* seconds; 0: config backend_timeout */
};

/* "Name: value" lines sent with every request to the remote.  Their
 * values are credentials: never printed nor logged (masked). */
struct http_headers {
  size_t count;
  char **lines;
};

/* What the remote can do, learnt once at open. */
struct http_remote {
  bool images_api;              /* answers OPTIONS with "features" */
  bool can_write;               /* allows PUT */
  bool can_zero, can_flush, can_extents, can_checksum;
};

/* Where the body of an answer goes. */
enum http_sink {
  HTTP_SINK_NONE,               /* discarded (HEAD, or not wanted) */
  HTTP_SINK_BUFFER,             /* into the caller's buffer, exactly */
  HTTP_SINK_TEXT,               /* into text, grown up to text_max */
};

/* One request and its answer. */
struct http_exchange {
  /* In. */
  const char *method;           /* GET HEAD OPTIONS PUT PATCH */
  const char *resource;         /* "" or "/extents?context=zero" */
  const char *query;            /* extra query ("flush=n"), or NULL */
  struct curl_slist *headers;   /* per-request headers, or NULL */
  const void *upload;           /* PUT/PATCH body */
  size_t upload_len;
  enum http_sink sink;
  void *buffer;                 /* HTTP_SINK_BUFFER */
  size_t buffer_len;
  size_t text_max;              /* HTTP_SINK_TEXT: the whole answer is
                                 * needed, up to this; 0: a small one,
                                 * cut past HTTP_SMALL_BODY_MAX */

  /* Out. */
  long status;
  size_t received;              /* bytes put in buffer */
  size_t sent;
  char *text;                   /* HTTP_SINK_TEXT or an error body, NUL
                                 * terminated; free with the exchange */
  size_t text_len;
  bool text_truncated;
  bool has_length;
  uint64_t length;              /* Content-Length */
  bool has_range;
  uint64_t range_first, range_last, range_total;  /* Content-Range */
  char allow[256];              /* Allow */
  bool json;                    /* Content-Type: application/json */
  bool too_much;                /* more body than the buffer holds */
};

struct http_backend {
  struct backend backend;       /* must be first */
  CURL *curl;
  char id[TRANSFER_ID_MAX + 1]; /* our transfer's id, for logs */
  /* The remote's settings this handle was made for: a kept backend is
   * reused only for the same ones (backend-http.c). */
  char *url;
  char *remote_id;              /* last path segment: hidden in messages */
  char *label;                  /* scheme://host:port, for messages */
  char *ca_file;
  bool insecure;
  long timeout;
  struct curl_slist *base_headers;
  char *error_buffer;           /* CURLOPT_ERRORBUFFER */
  struct timespec last_cancel_check;
  struct http_remote remote;
  /* The remote's extents list, fetched once per request and context
   * (backend.c asks in steps); forgotten when the backend is reused. */
  struct extent_list extents[2];
  bool has_extents[2];
};

static inline struct http_backend *
to_http (struct backend *b)
{
  return (struct http_backend *) b;
}

/* backend-http.c: the ops; backend-http-descriptor.c: the registry row. */
extern const struct backend_ops backend_http_ops;

/* backend-http-handle.c: the curl handle and its settings. */
int http_handle_setup (struct http_backend *hb, const struct transfer *t);
bool http_handle_same_settings (const struct http_backend *hb,
                                const struct transfer *t);
void http_handle_free (struct http_backend *hb);

/* backend-http-exchange.c: run one exchange.  0 when the remote
 * answered 2xx, else -1 with error_set (remote 4xx/5xx, network and TLS
 * failures mapped to errno: http_remote_errno).  what and offset name
 * the operation in messages. */
int http_exchange_run (struct http_backend *hb, struct http_exchange *x,
                       const char *what, uint64_t offset);
#define HTTP_NO_OFFSET UINT64_MAX     /* what has no offset (open, flush) */
void http_exchange_free (struct http_exchange *x);
/* A remote status as the errno our clients' status follows. */
int http_remote_errno (long status);

/* backend-http-checksum.c */
int http_backend_checksum (struct backend *b, const char *algorithm,
                           uint64_t block_size, char *hex_out);

/* backend-http-extents.c */
int http_backend_extents (struct backend *b, enum extents_context context,
                          uint64_t count, uint64_t offset,
                          struct extent_list *list);

/* backend-http-open.c */
struct backend *http_backend_open (const struct transfer *t, bool writable);
void http_backend_close (struct backend *b);
bool http_backend_can_keep (struct backend *b);
bool http_backend_reuse (struct backend *b, const struct transfer *t);

#endif
