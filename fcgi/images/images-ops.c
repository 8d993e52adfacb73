/* SPDX-License-Identifier: Apache-2.0 */
/* The small routes: PATCH (zero, flush, ranged write) and POST flush.
 * OPTIONS describes the routes, and lives with them (images-routes.c). */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "checked.h"
#include "cleanup.h"
#include "error.h"
#include "images-handlers.h"
#include "images-patch-body.h"
#include "log.h"
#include "range.h"

static void
answer_ok (struct request *req)
{
  CLEANUP_JSON_PUT json_object *body = json_object_new_object ();

  json_object_object_add (body, "ok", json_object_new_boolean (1));
  response_json (req, 200, body);
}

static void
flush_and_answer (struct image_request *ir)
{
  if (backend_flush (ir->backend) == -1) {
    image_request_fail (ir, "flush");
    return;
  }
  answer_ok (ir->req);
}

void
images_post_flush (struct image_request *ir)
{
  flush_and_answer (ir);
}

static void
patch_zero (struct image_request *ir, const struct patch_body *body)
{
  if (!range_within (body->offset, body->size, ir->backend->size)) {
    image_request_unsatisfiable (ir, "zero range");
    return;
  }
  if (backend_zero (ir->backend, body->size, body->offset) == -1) {
    image_request_fail (ir, "zero at offset %" PRIu64, body->offset);
    return;
  }
  if (body->flush)
    flush_and_answer (ir);
  else
    answer_ok (ir->req);
}

static void
patch_json (struct image_request *ir)
{
  struct request *req = ir->req;
  char text[PATCH_BODY_MAX];
  struct patch_body body;
  size_t length;

  if (!req->has_content_length) {
    response_error (req, 400, "PATCH needs a Content-Length");
    return;
  }
  if (req->content_length > PATCH_BODY_MAX) {
    response_error (req, 413, "JSON body over %d bytes", PATCH_BODY_MAX);
    return;
  }
  length = (size_t) req->content_length;
  if (request_read_body_full (req, text, length) == -1
      || patch_body_parse (text, length, &body) == -1) {
    response_error (req, 400, "%s", error_message ());
    return;
  }
  if (body.op == PATCH_OP_ZERO)
    patch_zero (ir, &body);
  else
    flush_and_answer (ir);
}

/* CloudStack's extension: PATCH with Range: bytes=A-B and B-A+1 bytes. */
static void
patch_ranged_write (struct image_request *ir)
{
  struct request *req = ir->req;
  const struct range_spec *spec = &ir->range;
  uint64_t length;
  int flush;

  if (ir->range_parsed != RANGE_OK || !spec->has_first || !spec->has_last) {
    response_error (req, 400, "ranged PATCH needs Range: bytes=A-B, got %s",
                    ir->range_header);
    return;
  }
  if (!range_inclusive_length (spec->first, spec->last, &length)) {
    image_request_unsatisfiable (ir, "write");
    return;
  }
  if (!req->has_content_length || req->content_length != length) {
    response_error (req, 400, "Range covers %" PRIu64 " bytes but the body "
                    "has %" PRIu64, length, req->content_length);
    return;
  }
  flush = image_request_query_flush (ir, false);
  if (flush == -1) {
    response_error (req, 400, "flush must be y or n");
    return;
  }
  image_request_write_body (ir, spec->first, length, flush, false);
}

static bool
content_type_is_json (const char *content_type)
{
  size_t len = strlen ("application/json");

  return content_type && strncasecmp (content_type, "application/json",
                                      len) == 0
         && (content_type[len] == '\0' || content_type[len] == ';'
             || content_type[len] == ' ');
}

void
images_patch (struct image_request *ir)
{
  if (content_type_is_json (request_header (ir->req, "Content-Type")))
    patch_json (ir);
  else if (ir->range_header)
    patch_ranged_write (ir);
  else
    response_error (ir->req, 415, "PATCH takes a JSON body, or a binary "
                    "body with a Range header");
}
