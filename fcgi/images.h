/* The /images data plane (API.md section 2). */
#ifndef IMAGEXFER_IMAGES_H
#define IMAGEXFER_IMAGES_H

#include "backend.h"
#include "config-file.h"
#include "request.h"
#include "transfer.h"

/* What a handler of /images/<id>[/<sub>] gets: the loaded transfer and
 * the open backend.  images.c loads, checks access and lifecycle, opens
 * the backend (writable only for methods that write), calls the handler,
 * and closes everything after. */
struct image_request {
  struct request *req;
  const struct config *cfg;
  struct transfer transfer;
  struct backend *backend;      /* NULL for handlers that need none */
  const char *sub;              /* "" or "extents", "flush", "checksum"... */
};

/* The Allow lists of a transfer that may only be read, and of one that
 * may be written. */
#define IMAGES_METHODS_READ "OPTIONS, GET, HEAD"
#define IMAGES_METHODS_WRITE "OPTIONS, GET, HEAD, PUT, PATCH, POST"

/* Entry point: the worker calls it for every path under /images. */
void images_handle (struct request *req, const struct config *cfg);

/* Handlers: each sends a complete response (or aborts it). */
void images_options (struct image_request *ir);
void images_get (struct image_request *ir, bool head_only);
void images_put (struct image_request *ir);
void images_patch (struct image_request *ir);
void images_post_flush (struct image_request *ir);
void images_extents (struct image_request *ir);
void images_checksum (struct image_request *ir);
void images_checksum_algorithms (struct image_request *ir);

/* Shared by the data routes (images-data.c). */
/* Copy length body bytes to the backend at offset.  -1 with error_set,
 * and *failed_offset where it stopped (for the client's message). */
int images_receive (struct image_request *ir, uint64_t offset,
                    uint64_t length, uint64_t *failed_offset);
/* Write length body bytes at offset, flush when asked, and answer
 * {"ok": true, "bytes_written": N[, "flushed": bool]}; a range outside
 * the transfer is 416.  PUT and ranged PATCH. */
void images_write_body (struct image_request *ir, uint64_t offset,
                        uint64_t length, bool flush, bool report_flushed);
/* 416, with a Content-Range header giving the transfer size; what
 * names the offending range in the message. */
void images_unsatisfiable (struct image_request *ir, const char *what);
/* The flush query parameter: 1 (y), 0 (n), default_value when absent,
 * -1 for anything else. */
int images_query_flush (struct image_request *ir, bool default_value);

/* Between chunks of a long request: true when the transfer was cancelled
 * (its spool file deleted or replaced) and the request must stop. */
bool images_cancelled (struct image_request *ir);

/* Answer the error recorded with error_set: the status comes from
 * http_status_from_errno.  For 4xx/503 the body is error_message(); for
 * 500 and 507 it names the operation (formatted from fmt: "read at
 * offset 1048576") and the errno text, while the full message, which may
 * name internal paths, goes only to the log.  When the response headers
 * already went out, the response is aborted instead. */
void images_fail (struct image_request *ir, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#endif
