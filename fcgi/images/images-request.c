/* SPDX-License-Identifier: Apache-2.0 */
/* The helpers every /images handler shares (images-request.h). */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "checked.h"
#include "cleanup.h"
#include "error.h"
#include "http-status.h"
#include "images-request.h"
#include "log.h"
#include "monotonic.h"
#include "pipeline.h"
#include "stats.h"

void
image_request_parse_ranges (struct image_request *ir)
{
  ir->range_header = request_header (ir->req, "Range");
  if (ir->range_header)
    ir->range_parsed = range_spec_parse (ir->range_header, &ir->range);
  ir->content_range_header = request_header (ir->req, "Content-Range");
  if (ir->content_range_header)
    ir->content_range_valid =
      content_range_parse (ir->content_range_header, &ir->content_range)
      == 0;
}

uint64_t
image_request_start_offset (const struct image_request *ir)
{
  if (ir->range_header && ir->range_parsed == RANGE_OK
      && ir->range.has_first)
    return ir->range.first;
  if (ir->content_range_header && ir->content_range_valid)
    return ir->content_range.first;
  return 0;
}

void
image_request_descriptor_seen (struct image_request *ir)
{
  clock_gettime (CLOCK_MONOTONIC, &ir->descriptor_seen);
}

/* Whether the spool file is worth a look before this chunk.  A 4 KiB
 * GET loads the descriptor and sends its only chunk some 20 us later: a
 * second lstat then tells nothing the load did not, and was one system
 * call in 16 of such a request.  Between looks a request moves at
 * most IMAGE_REQUEST_CANCEL_CHECK_MS more of data after a cancel, well
 * within the second that cancelling promises. */
static bool
descriptor_look_due (struct image_request *ir)
{
  return monotonic_due (&ir->descriptor_seen, IMAGE_REQUEST_CANCEL_CHECK_MS);
}

int
image_request_chunk_done (struct image_request *ir, uint64_t n,
                          enum image_chunk_direction direction)
{
  if (descriptor_look_due (ir)
      && !transfer_still_present (ir->cfg->spool_dir, &ir->transfer)) {
    stats_transfer_cancelled (ir->transfer.id);
    error_set (ECANCELED, "transfer %s was cancelled", ir->transfer.id);
    return -1;
  }
  stats_request_progress (n, direction == IMAGE_CHUNK_WRITE);
  return 0;
}

void
image_request_fail (struct image_request *ir, const char *fmt, ...)
{
  struct request *req = ir->req;
  int errnum = error_errno () ? error_errno () : EIO;
  int status = http_status_from_errno (errnum, HTTP_FAILURE_OPERATION);
  char operation[256];
  va_list args;

  va_start (args, fmt);
  vsnprintf (operation, sizeof operation, fmt, args);
  va_end (args);

  /* The backend stopped because the web server closed the connection:
   * nobody is left to answer, and nothing failed. */
  if (ir->backend != NULL && ir->backend->client_gone) {
    log_warning ("%s %s: stopped after %" PRIu64 " bytes: the client went "
                 "away while the backend was silent", req->method,
                 ir->transfer.id, req->body_sent);
    response_abort (req);
    return;
  }
  log_error ("%s %s: %s failed: %s", req->method, ir->transfer.id, operation,
             error_message ());
  if (req->status != 0) {
    /* Headers are out: only cutting the connection tells the client. */
    response_abort (req);
    return;
  }
  if (status == 500 || status == 507)
    response_error (req, status, "%s failed: %s", operation,
                    strerror (errnum));
  else
    response_error (req, status, "%s", error_message ());
}

void
image_request_unsatisfiable (struct image_request *ir, const char *what)
{
  response_header (ir->req, "Content-Range", "bytes */%" PRIu64,
                   ir->backend->size);
  response_error (ir->req, 416, "%s outside the transfer of %" PRIu64
                  " bytes", what, ir->backend->size);
}

int
image_request_query_flush (struct image_request *ir, bool default_value)
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

int
image_request_receive (struct image_request *ir, uint64_t offset,
                       uint64_t length, uint64_t *failed_offset)
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
    /* Before the chunk goes to the backend: a cancelled transfer gets
     * no more writes. */
    if (image_request_chunk_done (ir, n, IMAGE_CHUNK_WRITE) == -1)
      goto stopped;
    pipeline_submit (p, n);
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

void
image_request_write_body (struct image_request *ir, uint64_t offset,
                          uint64_t length, bool flush, bool report_flushed)
{
  CLEANUP_JSON_PUT json_object *body = NULL;
  uint64_t failed;

  if (!range_within (offset, length, ir->backend->size)) {
    image_request_unsatisfiable (ir, "write");
    return;
  }
  if (image_request_receive (ir, offset, length, &failed) == -1) {
    image_request_fail (ir, "write at offset %" PRIu64, failed);
    return;
  }
  if (flush && backend_flush (ir->backend) == -1) {
    image_request_fail (ir, "flush");
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
