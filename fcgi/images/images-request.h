/* SPDX-License-Identifier: Apache-2.0 */
/* What the /images handlers share: the request they serve and the
 * helpers every one of them needs.  The router (images.c) fills a
 * struct image_request and calls a handler (images-handlers.h); handlers
 * call only what is declared here, never back into the router. */
#ifndef IMAGEXFER_IMAGES_REQUEST_H
#define IMAGEXFER_IMAGES_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"
#include "config-file.h"
#include "range.h"
#include "request.h"
#include "transfer.h"

/* What a handler of /images/<id>[/<sub>] gets: the loaded transfer, the
 * open backend, and the range headers, parsed once.  The router loads,
 * checks access and lifecycle, opens the backend (writable only for
 * methods that write), calls the handler, and closes everything after.
 * A malformed range header is answered by the handler that reads it,
 * so an unknown transfer is 404 whatever its headers say. */
struct image_request {
  struct request *req;
  const struct config *cfg;
  struct transfer transfer;
  struct backend *backend;      /* NULL for handlers that need none */
  const char *sub;              /* "" or "extents", "flush", "checksum"... */

  const char *range_header;     /* Range, NULL when absent */
  enum range_result range_parsed; /* range_spec_parse of it */
  struct range_spec range;      /* when range_parsed is RANGE_OK */

  const char *content_range_header; /* Content-Range, NULL when absent */
  bool content_range_valid;
  struct content_range content_range; /* when content_range_valid */

  struct timespec descriptor_seen; /* last look at the spool file */
};

/* Parse the Range and Content-Range headers of ir->req into ir. */
void image_request_parse_ranges (struct image_request *ir);

/* Where the request starts in the image, for the in-flight table: the
 * first byte of Range (GET, ranged PATCH) or Content-Range (PUT), else
 * 0. */
uint64_t image_request_start_offset (const struct image_request *ir);

/* Which way a chunk went, for the statistics. */
enum image_chunk_direction {
  IMAGE_CHUNK_READ,             /* backend to client */
  IMAGE_CHUNK_WRITE,            /* client to backend */
};

/* Milliseconds between two looks at a transfer's spool file while a
 * request moves its chunks. */
#define IMAGE_REQUEST_CANCEL_CHECK_MS 10

/* The transfer was loaded from its spool file just now: the file was
 * there at this moment. */
void image_request_descriptor_seen (struct image_request *ir);

/* The per-chunk hook of every data loop, called before a chunk of n
 * bytes moves (is sent, or goes to the backend): check that the
 * transfer was not cancelled (its spool file deleted; looked at only
 * when the last look is IMAGE_REQUEST_CANCEL_CHECK_MS old), then count
 * the chunk in the request's statistics.  Returns 0 to go on, or -1 with
 * error_set (ECANCELED) when the request must stop; a chunk refused so
 * is not counted, as it is never moved. */
int image_request_chunk_done (struct image_request *ir, uint64_t n,
                              enum image_chunk_direction direction);

/* Answer the error recorded with error_set: the status comes from
 * http_status_from_errno.  For 4xx/503 the body is error_message(); for
 * 500 and 507 it names the operation (formatted from fmt: "read at
 * offset 1048576") and the errno text, while the full message, which may
 * name internal paths, goes only to the log.  When the response headers
 * already went out, the response is aborted instead. */
void image_request_fail (struct image_request *ir, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* 416, with a Content-Range header giving the transfer size; what
 * names the offending range in the message. */
void image_request_unsatisfiable (struct image_request *ir, const char *what);

/* The flush query parameter: 1 (y), 0 (n), default_value when absent,
 * -1 for anything else. */
int image_request_query_flush (struct image_request *ir, bool default_value);

/* Copy length body bytes to the backend at offset.  -1 with error_set,
 * and *failed_offset where it stopped (for the client's message). */
int image_request_receive (struct image_request *ir, uint64_t offset,
                           uint64_t length, uint64_t *failed_offset);

/* Write length body bytes at offset, flush when asked, and answer
 * {"ok": true, "bytes_written": N[, "flushed": bool]}; a range outside
 * the transfer is 416.  PUT and ranged PATCH. */
void image_request_write_body (struct image_request *ir, uint64_t offset,
                               uint64_t length, bool flush,
                               bool report_flushed);

#endif
