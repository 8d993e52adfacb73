/* SPDX-License-Identifier: Apache-2.0 */
/* Typed fields of JSON objects written by clients and operators.  Types
 * are exact (a string is not a number, 1 is not true) and every error
 * names the field: "size: must not be negative". */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json-field.h"

/* The C string of a JSON string, or NULL (with error_set) when v is
 * not a string.  An escaped NUL ("\u0000") would silently cut the C
 * string short ("/a\u0000/../x" read as "/a"), so it is refused. */
const char *
json_string_value (json_object *v, const char *key)
{
  const char *s;

  if (!json_object_is_type (v, json_type_string)) {
    error_set (EINVAL, "%s: must be a string", key);
    return NULL;
  }
  s = json_object_get_string (v);
  if (strlen (s) != (size_t) json_object_get_string_len (v)) {
    error_set (EINVAL, "%s: must not contain NUL characters", key);
    return NULL;
  }
  return s;
}

int
json_field_string (json_object *obj, const char *key, char **out)
{
  json_object *v;
  const char *s;

  if (!json_object_object_get_ex (obj, key, &v))
    return 0;
  if ((s = json_string_value (v, key)) == NULL)
    return -1;
  free (*out);
  *out = strdup (s);
  if (*out == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 1;
}

int
json_field_bool (json_object *obj, const char *key, bool *out)
{
  json_object *v;

  if (!json_object_object_get_ex (obj, key, &v))
    return 0;
  if (!json_object_is_type (v, json_type_boolean)) {
    error_set (EINVAL, "%s: must be true or false", key);
    return -1;
  }
  *out = json_object_get_boolean (v);
  return 1;
}

/* A JSON integer 0 <= n <= INT64_MAX.  json-c saturates numbers that
 * overflow to INT64_MIN or UINT64_MAX without telling us, so the upper
 * limit is what catches "18446744073709551616"; no size, offset or time
 * beyond INT64_MAX means anything (off_t and NBD sizes are signed). */
int
json_uint64_value (json_object *v, const char *key, uint64_t *out)
{
  uint64_t u;

  if (!json_object_is_type (v, json_type_int)) {
    error_set (EINVAL, "%s: must be a non-negative integer", key);
    return -1;
  }
  /* json_object_get_uint64 returns 0 for negatives: check the sign first. */
  if (json_object_get_int64 (v) < 0) {
    error_set (EINVAL, "%s: must not be negative", key);
    return -1;
  }
  u = json_object_get_uint64 (v);
  if (u > INT64_MAX) {
    error_set (EINVAL, "%s: too large", key);
    return -1;
  }
  *out = u;
  return 0;
}

int
json_field_uint64 (json_object *obj, const char *key, uint64_t *out)
{
  json_object *v;

  if (!json_object_object_get_ex (obj, key, &v))
    return 0;
  return json_uint64_value (v, key, out) == -1 ? -1 : 1;
}

int
json_add (json_object *obj, const char *key, json_object *value)
{
  if (value == NULL || json_object_object_add (obj, key, value) != 0) {
    json_object_put (value);
    error_set (ENOMEM, "out of memory building JSON");
    return -1;
  }
  return 0;
}
