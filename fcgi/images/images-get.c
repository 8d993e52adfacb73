/* SPDX-License-Identifier: Apache-2.0 */
/* GET and HEAD /images/<id>: the download.  One function chooses the
 * way out (get_choose_way), then one of three senders runs. */
#include <config.h>

#include <inttypes.h>
#include <stdlib.h>

#include "images-handlers.h"
#include "log.h"
#include "pipeline.h"
#include "stats.h"
#include "text-parse.h"

enum get_way {
  /* sendfile = yes and a regular file: lighttpd sends the range itself
   * (X-Sendfile2), like a static file.  The price: a download handed
   * over this way cannot be stopped by cancelling the transfer. */
  GET_BY_WEB_SERVER,
  /* Through the pipeline's buffers: any backend. */
  GET_BUFFERED,
  /* A backend with a file descriptor (files, block devices), more than a
   * chunk: after the first chunk the kernel copies (sendfile), measured
   * ~40% faster than through a buffer. */
  GET_BY_KERNEL,
};

/* Where the range's bytes are when the backend has a file descriptor. */
struct get_source {
  int fd;                       /* -1: none */
  uint64_t base;                /* the transfer's offset in fd */
  char *encoded_path;           /* GET_BY_WEB_SERVER: for X-Sendfile2 */
};

static enum get_way
get_choose_way (struct image_request *ir, const struct byte_range *range,
                struct get_source *src)
{
  const char *path;

  src->fd = backend_data_fd (ir->backend, &src->base);
  src->encoded_path = NULL;
  /* A range handed over cannot be stopped by cancelling the transfer:
   * only ranges up to sendfile_max are, larger ones stream.  Only a
   * regular file has a path to hand over (backend.h); asked last, as
   * it looks at the file system. */
  if (ir->cfg->sendfile && range->length > 0
      && range->length <= ir->cfg->sendfile_max && src->fd != -1
      && (path = backend_data_path (ir->backend)) != NULL
      && (src->encoded_path = percent_encode (path)) != NULL)
    return GET_BY_WEB_SERVER;
  if (src->fd == -1 || range->length < ir->cfg->chunk_size)
    return GET_BUFFERED;
  return GET_BY_KERNEL;
}

/* The X-Sendfile2 hand-off ("<url-encoded path> <first>-<last>"). */
static void
send_by_web_server (struct image_request *ir, int status,
                    const struct byte_range *range,
                    const struct get_source *src)
{
  response_header (ir->req, "X-Sendfile2", "%s %" PRIu64 "-%" PRIu64,
                   src->encoded_path, src->base + range->start,
                   src->base + range->start + range->length - 1);
  /* The web server reads the range and ends the client's answer itself,
   * maybe before this request ends. */
  response_answered (ir->req);
  if (response_begin (ir->req, status, "application/octet-stream", false, 0)
      == 0)
    stats_request_progress (range->length, false);
}

/* Stream buffered bytes of the backend from offset, of a response of
 * total bytes.  The backend thread of a pipeline reads ahead while
 * chunks go out.  The first chunk arrives before the headers go out, so
 * a backend that fails at once (EIO, a dead NBD server) still gets a
 * proper error status; a failure later can only cut the response.
 * Returns 0, or -1 after answering the failure. */
static int
send_buffered (struct image_request *ir, int status, uint64_t offset,
               uint64_t buffered, uint64_t total)
{
  struct pipeline *p;
  bool first = true;
  int r = -1;

  p = pipeline_start_read (ir->backend, offset, buffered, ir->cfg->chunk_size);
  if (!p) {
    image_request_fail (ir, "read");
    return -1;
  }
  do {
    const void *chunk = NULL;
    size_t n = 0;

    if (buffered > 0 && !(chunk = pipeline_next_chunk (p, &n))) {
      uint64_t failed = offset;

      pipeline_finish (p, &failed);
      image_request_fail (ir, "read at offset %" PRIu64, failed);
      return -1;
    }
    if (image_request_chunk_done (ir, n, IMAGE_CHUNK_READ) == -1) {
      pipeline_abandon (p);
      image_request_fail (ir, "read at offset %" PRIu64, offset);
      goto out;
    }
    if (first && response_begin (ir->req, status, "application/octet-stream",
                                 true, total) == -1)
      goto out;
    first = false;
    if (n > 0 && response_write (ir->req, chunk, n) == -1) {
      log_warning ("GET %s: stopped after %" PRIu64 " bytes: %m",
                   ir->transfer.id, ir->req->body_sent);
      pipeline_abandon (p);
      response_abort (ir->req);
      goto out;
    }
    offset += n;
    buffered -= n;
  } while (buffered > 0);
  r = 0;
out:
  pipeline_finish (p, NULL);
  return r;
}

/* The first chunk buffered (for a proper error status), the rest copied
 * by the kernel. */
static void
send_by_kernel (struct image_request *ir, int status,
                const struct byte_range *range, const struct get_source *src)
{
  size_t chunk = ir->cfg->chunk_size;
  uint64_t offset = range->start + chunk;
  uint64_t length = range->length - chunk;

  if (send_buffered (ir, status, range->start, chunk, range->length) == -1)
    return;
  while (length > 0) {
    size_t n = length < chunk ? (size_t) length : chunk;

    if (image_request_chunk_done (ir, n, IMAGE_CHUNK_READ) == -1) {
      image_request_fail (ir, "read at offset %" PRIu64, offset);
      return;
    }
    if (response_sendfile (ir->req, src->fd, src->base + offset, n) == -1) {
      log_warning ("GET %s: stopped after %" PRIu64 " bytes: %m",
                   ir->transfer.id, ir->req->body_sent);
      response_abort (ir->req);
      return;
    }
    offset += n;
    length -= n;
  }
}

/* The status and headers of a GET or HEAD; *range is what to send.
 * A HEAD ignores Range (RFC 9110 14.2: range handling is defined for
 * GET alone) and always describes the whole image: clients send HEAD
 * to learn the size.  Returns the status, or -1 after answering a bad
 * Range. */
static int
get_headers (struct image_request *ir, bool ranged, struct byte_range *range)
{
  struct request *req = ir->req;
  uint64_t size = ir->backend->size;
  enum range_result result;

  *range = (struct byte_range) { .start = 0, .length = size };
  if (ranged) {
    result = ir->range_parsed;
    if (result == RANGE_OK)
      result = range_resolve (&ir->range, size, range);
    switch (result) {
    case RANGE_OK:
      break;
    case RANGE_INVALID:
      response_error (req, 400, "malformed Range header: %s",
                      ir->range_header);
      return -1;
    case RANGE_MULTIPLE:
      image_request_unsatisfiable (ir, "several ranges are not supported; "
                                   "range");
      return -1;
    case RANGE_UNSATISFIABLE:
      image_request_unsatisfiable (ir, "range");
      return -1;
    }
    response_header (req, "Content-Range", "bytes %" PRIu64 "-%" PRIu64
                     "/%" PRIu64, range->start,
                     range->start + range->length - 1, size);
  }
  else if (ir->transfer.filename)
    response_header (req, "Content-Disposition",
                     "attachment; filename=\"%s\"", ir->transfer.filename);
  response_header (req, "Accept-Ranges", "bytes");
  return ranged ? 206 : 200;
}

void
images_get (struct image_request *ir)
{
  struct byte_range range;
  struct get_source src;
  int status = get_headers (ir, ir->range_header != NULL, &range);

  if (status == -1)
    return;
  switch (get_choose_way (ir, &range, &src)) {
  case GET_BY_WEB_SERVER:
    send_by_web_server (ir, status, &range, &src);
    free (src.encoded_path);
    break;
  case GET_BUFFERED:
    send_buffered (ir, status, range.start, range.length, range.length);
    break;
  case GET_BY_KERNEL:
    send_by_kernel (ir, status, &range, &src);
    break;
  }
}

void
images_head (struct image_request *ir)
{
  struct byte_range range;
  int status = get_headers (ir, false, &range);

  if (status != -1)
    response_begin (ir->req, status, "application/octet-stream", true,
                    range.length);
}
