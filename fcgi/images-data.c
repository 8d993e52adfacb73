/* The bulk data routes: GET/HEAD (download) and PUT (upload), plus the
 * body-to-backend loop that ranged PATCH shares. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "checked.h"
#include "cleanup.h"
#include "error.h"
#include "images.h"
#include "log.h"
#include "pipeline.h"
#include "range.h"
#include "stats.h"
#include "text-parse.h"

void
images_unsatisfiable (struct image_request *ir, const char *what)
{
  response_header (ir->req, "Content-Range", "bytes */%" PRIu64,
                   ir->backend->size);
  response_error (ir->req, 416, "%s outside the transfer of %" PRIu64
                  " bytes", what, ir->backend->size);
}

/* After the first chunk, a backend with a file descriptor (files, block
 * devices) is copied by the kernel: measured ~40% faster than through a
 * buffer.  Returns 0, or -1 after answering the failure. */
static int
send_by_kernel (struct image_request *ir, int fd, uint64_t base,
                uint64_t offset, uint64_t length)
{
  size_t chunk = ir->cfg->chunk_size;

  while (length > 0) {
    size_t n = length < chunk ? (size_t) length : chunk;

    if (images_cancelled (ir)) {
      images_fail (ir, "read at offset %" PRIu64, offset);
      return -1;
    }
    if (response_sendfile (ir->req, fd, base + offset, n) == -1) {
      log_warning ("GET %s: stopped after %" PRIu64 " bytes: %m",
                   ir->transfer.id, ir->req->body_sent);
      response_abort (ir->req);
      return -1;
    }
    stats_request_progress (n, false);
    offset += n;
    length -= n;
  }
  return 0;
}

/* Stream [offset, offset+length) of the backend.  The backend thread of
 * a pipeline reads ahead while chunks go out.  The first chunk arrives
 * before the headers go out, so a backend that fails at once (EIO, a
 * dead NBD server) still gets a proper error status; a failure later can
 * only cut the response. */
static void
send_range (struct image_request *ir, int status, uint64_t offset,
            uint64_t length)
{
  uint64_t base;
  int fd = backend_data_fd (ir->backend, &base);
  /* Backends copied by the kernel need only the first chunk here. */
  uint64_t buffered = fd == -1 || length < ir->cfg->chunk_size
                        ? length : ir->cfg->chunk_size;
  struct pipeline *p;
  bool first = true;

  p = pipeline_start_read (ir->backend, offset, buffered, ir->cfg->chunk_size);
  if (!p) {
    images_fail (ir, "read");
    return;
  }
  do {
    const void *chunk = NULL;
    size_t n = 0;

    if (images_cancelled (ir)) {
      images_fail (ir, "read at offset %" PRIu64, offset);
      goto out;
    }
    if (buffered > 0 && !(chunk = pipeline_next_chunk (p, &n))) {
      uint64_t failed = offset;

      pipeline_finish (p, &failed);
      images_fail (ir, "read at offset %" PRIu64, failed);
      return;
    }
    if (first && response_begin (ir->req, status, "application/octet-stream",
                                 true, length) == -1)
      goto out;
    first = false;
    if (n > 0 && response_write (ir->req, chunk, n) == -1) {
      log_warning ("GET %s: stopped after %" PRIu64 " bytes: %m",
                   ir->transfer.id, ir->req->body_sent);
      response_abort (ir->req);
      goto out;
    }
    stats_request_progress (n, false);
    offset += n;
    length -= n;
    buffered -= n;
  } while (buffered > 0);
  if (length > 0)
    send_by_kernel (ir, fd, base, offset, length);
out:
  pipeline_finish (p, NULL);
}

/* With sendfile = yes, a regular file's range is handed to lighttpd as
 * X-Sendfile2 ("<url-encoded path> <first>-<last>"), which sends it like
 * a static file.  The price: a download handed over this way cannot be
 * stopped by cancelling the transfer.  Returns true when handed over. */
static bool
hand_to_web_server (struct image_request *ir, int status,
                    const struct byte_range *range)
{
  const char *path = ir->transfer.path;
  CLEANUP_FREE char *encoded = NULL;
  uint64_t base;
  struct stat st;
  int fd;

  if (!ir->cfg->sendfile || range->length == 0 || !path)
    return false;
  fd = backend_data_fd (ir->backend, &base);
  if (fd == -1 || fstat (fd, &st) == -1 || !S_ISREG (st.st_mode))
    return false;
  encoded = percent_encode (path);
  if (!encoded)
    return false;
  response_header (ir->req, "X-Sendfile2", "%s %" PRIu64 "-%" PRIu64, encoded,
                   base + range->start, base + range->start + range->length - 1);
  if (response_begin (ir->req, status, "application/octet-stream", false, 0)
      == 0)
    stats_request_progress (range->length, false);
  return true;
}

void
images_get (struct image_request *ir, bool head_only)
{
  struct request *req = ir->req;
  const char *range_header = request_header (req, "Range");
  uint64_t size = ir->backend->size;
  struct byte_range range = { .start = 0, .length = size };
  int status = 200;

  if (range_header) {
    switch (range_parse (range_header, size, &range)) {
    case RANGE_OK:
      status = 206;
      break;
    case RANGE_INVALID:
      response_error (req, 400, "malformed Range header: %s", range_header);
      return;
    case RANGE_MULTIPLE:
      images_unsatisfiable (ir, "several ranges are not supported; range");
      return;
    case RANGE_UNSATISFIABLE:
      images_unsatisfiable (ir, "range");
      return;
    }
    response_header (req, "Content-Range", "bytes %" PRIu64 "-%" PRIu64
                     "/%" PRIu64, range.start,
                     range.start + range.length - 1, size);
  }
  else if (ir->transfer.filename)
    response_header (req, "Content-Disposition",
                     "attachment; filename=\"%s\"", ir->transfer.filename);
  response_header (req, "Accept-Ranges", "bytes");

  if (head_only)
    response_begin (req, status, "application/octet-stream", true,
                    range.length);
  else if (!hand_to_web_server (ir, status, &range))
    send_range (ir, status, range.start, range.length);
}

int
images_receive (struct image_request *ir, uint64_t offset, uint64_t length,
                uint64_t *failed_offset)
{
  size_t chunk = ir->cfg->chunk_size;
  struct pipeline *p = pipeline_start_write (ir->backend, offset, length,
                                             chunk);
  int errnum;
  char message[512];

  *failed_offset = offset;
  if (!p)
    return -1;
  while (length > 0) {
    size_t n = length < chunk ? (size_t) length : chunk;
    void *buffer = pipeline_free_buffer (p);

    if (!buffer)
      return pipeline_finish (p, failed_offset);
    if (request_read_body_full (ir->req, buffer, n) == -1) {
      log_warning ("%s %s: %s", ir->req->method, ir->transfer.id,
                   error_message ());
      goto stopped;
    }
    if (images_cancelled (ir))
      goto stopped;
    pipeline_submit (p, n);
    stats_request_progress (n, true);
    *failed_offset += n;
    length -= n;
  }
  return pipeline_finish (p, failed_offset);

stopped:
  /* The error that stopped us is the one to report; what was submitted
   * before is still written (a cut upload keeps its complete chunks). */
  errnum = error_errno ();
  snprintf (message, sizeof message, "%s", error_message ());
  pipeline_finish (p, NULL);
  error_set (errnum, "%s", message);
  return -1;
}

/* flush=y|n; y when absent.  Returns 1, 0, or -1 for a bad value. */
int
images_query_flush (struct image_request *ir, bool default_value)
{
  char value[8];

  if (!request_query (ir->req, "flush", value, sizeof value))
    return default_value;
  if (strcmp (value, "y") == 0)
    return 1;
  if (strcmp (value, "n") == 0)
    return 0;
  return -1;
}

void
images_write_body (struct image_request *ir, uint64_t offset, uint64_t length,
                   bool flush, bool report_flushed)
{
  CLEANUP_JSON_PUT json_object *body = NULL;
  uint64_t failed;

  if (!range_within (offset, length, ir->backend->size)) {
    images_unsatisfiable (ir, "write");
    return;
  }
  if (images_receive (ir, offset, length, &failed) == -1) {
    images_fail (ir, "write at offset %" PRIu64, failed);
    return;
  }
  if (flush && backend_flush (ir->backend) == -1) {
    images_fail (ir, "flush");
    return;
  }
  body = json_object_new_object ();
  json_object_object_add (body, "ok", json_object_new_boolean (1));
  json_object_object_add (body, "bytes_written",
                          json_object_new_int64 ((int64_t) length));
  if (report_flushed)
    json_object_object_add (body, "flushed", json_object_new_boolean (flush));
  response_json (ir->req, 200, body);
}

void
images_put (struct image_request *ir)
{
  struct request *req = ir->req;
  const char *content_range = request_header (req, "Content-Range");
  uint64_t offset = 0, length = req->content_length;
  int flush;

  if (!req->has_content_length) {
    response_error (req, 400, "PUT needs a Content-Length");
    return;
  }
  flush = images_query_flush (ir, true);
  if (flush == -1) {
    response_error (req, 400, "flush must be y or n");
    return;
  }
  if (content_range) {
    struct content_range cr;
    uint64_t covered;

    if (content_range_parse (content_range, &cr) == -1) {
      response_error (req, 400, "malformed Content-Range header: %s",
                      content_range);
      return;
    }
    if (cr.has_last) {
      if (!range_inclusive_length (cr.first, cr.last, &covered)) {
        images_unsatisfiable (ir, "write");
        return;
      }
      if (covered != length) {
        response_error (req, 400, "Content-Range covers %" PRIu64
                        " bytes but Content-Length is %" PRIu64, covered,
                        length);
        return;
      }
    }
    offset = cr.first;
  }
  images_write_body (ir, offset, length, flush, true);
}
