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
#include "json-field.h"
#include "log.h"
#include "range.h"

#define PATCH_JSON_MAX (64 * 1024)

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
patch_zero (struct image_request *ir, json_object *request_body)
{
  uint64_t size = 0, offset = 0;
  bool flush = false;
  int has_size = json_field_uint64 (request_body, "size", &size);

  if (has_size == 0)
    error_set (EINVAL, "size: is required");
  if (has_size != 1
      || json_field_uint64 (request_body, "offset", &offset) == -1
      || json_field_bool (request_body, "flush", &flush) == -1) {
    response_error (ir->req, 400, "%s", error_message ());
    return;
  }
  if (!range_within (offset, size, ir->backend->size)) {
    image_request_unsatisfiable (ir, "zero range");
    return;
  }
  if (backend_zero (ir->backend, size, offset) == -1) {
    image_request_fail (ir, "zero at offset %" PRIu64, offset);
    return;
  }
  if (flush)
    flush_and_answer (ir);
  else
    answer_ok (ir->req);
}

static void
patch_json (struct image_request *ir)
{
  struct request *req = ir->req;
  char text[PATCH_JSON_MAX];
  CLEANUP_JSON_PUT json_object *request_body = NULL;
  json_tokener *tokener;
  json_object *op;
  size_t length;

  if (!req->has_content_length) {
    response_error (req, 400, "PATCH needs a Content-Length");
    return;
  }
  if (req->content_length > PATCH_JSON_MAX) {
    response_error (req, 413, "JSON body over %d bytes", PATCH_JSON_MAX);
    return;
  }
  length = (size_t) req->content_length;
  if (request_read_body_full (req, text, length) == -1) {
    response_error (req, 400, "%s", error_message ());
    return;
  }
  tokener = json_tokener_new ();
  request_body = json_tokener_parse_ex (tokener, text, (int) length);
  if (!request_body || json_tokener_get_error (tokener) != json_tokener_success
      || tokener->char_offset != (int) length) {
    json_tokener_free (tokener);
    response_error (req, 400, "malformed JSON body");
    return;
  }
  json_tokener_free (tokener);
  if (!json_object_is_type (request_body, json_type_object)
      || !json_object_object_get_ex (request_body, "op", &op)
      || !json_object_is_type (op, json_type_string)) {
    response_error (req, 400, "the body must be an object with a string "
                    "\"op\"");
    return;
  }
  if (strcmp (json_object_get_string (op), "zero") == 0)
    patch_zero (ir, request_body);
  else if (strcmp (json_object_get_string (op), "flush") == 0)
    flush_and_answer (ir);
  else
    response_error (req, 400, "unknown op: %s", json_object_get_string (op));
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
