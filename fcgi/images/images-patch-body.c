/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "images-patch-body.h"
#include "json-field.h"

/* The whole text as one JSON value, or NULL: a tokener, not
 * json_tokener_parse, so that trailing bytes and NUL bytes are seen. */
static json_object *
parse_whole (const char *text, size_t length)
{
  json_tokener *tokener = json_tokener_new ();
  json_object *value;

  if (tokener == NULL)
    return NULL;
  value = json_tokener_parse_ex (tokener, text, (int) length);
  if (value && (json_tokener_get_error (tokener) != json_tokener_success
                || tokener->char_offset != (int) length)) {
    json_object_put (value);
    value = NULL;
  }
  json_tokener_free (tokener);
  return value;
}

static int
parse_zero (json_object *obj, struct patch_body *body)
{
  int has_size = json_field_uint64 (obj, "size", &body->size);

  if (has_size == 0)
    error_set (EINVAL, "size: is required");
  if (has_size != 1
      || json_field_uint64 (obj, "offset", &body->offset) == -1
      || json_field_bool (obj, "flush", &body->flush) == -1)
    return -1;
  return 0;
}

int
patch_body_parse (const char *text, size_t length, struct patch_body *body)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  json_object *op;
  const char *name;

  memset (body, 0, sizeof *body);
  if (length > PATCH_BODY_MAX) {
    error_set (EINVAL, "JSON body over %d bytes", PATCH_BODY_MAX);
    return -1;
  }
  obj = parse_whole (text, length);
  if (obj == NULL) {
    error_set (EINVAL, "malformed JSON body");
    return -1;
  }
  if (!json_object_is_type (obj, json_type_object)
      || !json_object_object_get_ex (obj, "op", &op)
      || !json_object_is_type (op, json_type_string)) {
    error_set (EINVAL, "the body must be an object with a string \"op\"");
    return -1;
  }
  name = json_object_get_string (op);
  if (strcmp (name, "zero") == 0) {
    body->op = PATCH_OP_ZERO;
    return parse_zero (obj, body);
  }
  if (strcmp (name, "flush") == 0) {
    body->op = PATCH_OP_FLUSH;
    return 0;
  }
  error_set (EINVAL, "unknown op: %s", name);
  return -1;
}
