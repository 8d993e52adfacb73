/* SPDX-License-Identifier: Apache-2.0 */
/* PUT /images/<id>: the upload.  The body-to-backend loop it shares with
 * ranged PATCH is image_request_write_body (images-request.c). */
#include <config.h>

#include <inttypes.h>

#include "images-handlers.h"

void
images_put (struct image_request *ir)
{
  struct request *req = ir->req;
  uint64_t offset = 0, length = req->content_length;
  int flush;

  if (!req->has_content_length) {
    response_error (req, 400, "PUT needs a Content-Length");
    return;
  }
  flush = image_request_query_flush (ir, true);
  if (flush == -1) {
    response_error (req, 400, "flush must be y or n");
    return;
  }
  if (ir->content_range_header) {
    const struct content_range *cr = &ir->content_range;
    uint64_t covered;

    if (!ir->content_range_valid) {
      response_error (req, 400, "malformed Content-Range header: %s",
                      ir->content_range_header);
      return;
    }
    if (cr->has_last) {
      if (!range_inclusive_length (cr->first, cr->last, &covered)) {
        image_request_unsatisfiable (ir, "write");
        return;
      }
      if (covered != length) {
        response_error (req, 400, "Content-Range covers %" PRIu64
                        " bytes but Content-Length is %" PRIu64, covered,
                        length);
        return;
      }
    }
    offset = cr->first;
  }
  image_request_write_body (ir, offset, length, flush, true);
}
