/* SPDX-License-Identifier: Apache-2.0 */
/* The fields common to every transfer descriptor, and the types only
 * they use (ops, expires, filename). */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json-field.h"
#include "descriptor-field.h"
#include "transfer.h"

/* "ops": a non-empty array of "read" and "write"; write implies read. */
static int
parse_ops (json_object *v, const char *name, void *out)
{
  unsigned *ops = out;
  size_t n;

  if (!json_object_is_type (v, json_type_array)) {
    error_set (EINVAL, "%s: must be an array of \"read\" and \"write\"", name);
    return -1;
  }
  n = json_object_array_length (v);
  if (n == 0) {
    error_set (EINVAL, "%s: must not be empty", name);
    return -1;
  }
  *ops = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value (json_object_array_get_idx (v, i), name);

    if (s == NULL) {
      error_set (EINVAL, "%s: must be an array of \"read\" and \"write\"",
                 name);
      return -1;
    }
    if (strcmp (s, "read") == 0)
      *ops |= TRANSFER_OP_READ;
    else if (strcmp (s, "write") == 0)
      *ops |= TRANSFER_OP_READ | TRANSFER_OP_WRITE;
    else {
      error_set (EINVAL, "%s: unknown operation \"%s\"", name, s);
      return -1;
    }
  }
  return 0;
}

static json_object *
ops_to_json (const void *in)
{
  unsigned ops = *(const unsigned *) in;
  json_object *array = json_object_new_array ();

  if (array == NULL)
    return NULL;
  if ((ops & TRANSFER_OP_READ
       && json_object_array_add (array, json_object_new_string ("read")))
      || (ops & TRANSFER_OP_WRITE
          && json_object_array_add (array, json_object_new_string ("write")))) {
    json_object_put (array);
    return NULL;
  }
  return array;
}

static bool
format_ops (const void *in, char *buf, size_t size)
{
  snprintf (buf, size, "%s", *(const unsigned *) in & TRANSFER_OP_WRITE
                               ? "read, write" : "read");
  return true;
}

static const struct descriptor_type descriptor_ops = {
  parse_ops, ops_to_json, format_ops, NULL,
};

/* "expires": Unix seconds, or an RFC 3339 timestamp. */
static int
parse_expires (json_object *v, const char *name, void *out)
{
  int64_t *expires = out;
  uint64_t u;

  if (json_object_is_type (v, json_type_string)) {
    const char *s = json_string_value (v, name);

    if (s == NULL)
      return -1;
    if (transfer_parse_rfc3339 (s, expires) == -1) {
      error_set (EINVAL, "%s: not an RFC 3339 timestamp: \"%s\"", name, s);
      return -1;
    }
    /* Before 1970: long expired; keep "expires" a valid Unix time. */
    if (*expires < 0)
      *expires = 0;
    return 0;
  }
  if (json_object_is_type (v, json_type_int)) {
    if (json_uint64_value (v, name, &u) == -1)
      return -1;
    *expires = (int64_t) u;
    return 0;
  }
  error_set (EINVAL, "%s: must be Unix seconds or an RFC 3339 timestamp",
             name);
  return -1;
}

static const struct descriptor_type descriptor_expires = {
  parse_expires, descriptor_seconds_to_json, descriptor_seconds_format, NULL,
};

/* "filename" goes into a Content-Disposition header: control characters
 * would split the header, quotes and backslashes would break out of its
 * quoted string. */
static int
parse_filename (json_object *v, const char *name, void *out)
{
  const char *s = json_string_value (v, name);

  if (s == NULL)
    return -1;
  if (!*s) {
    error_set (EINVAL, "%s: must not be empty", name);
    return -1;
  }
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '/') {
      error_set (EINVAL, "%s: control characters, quotes, backslashes and "
                 "slashes are not allowed", name);
      return -1;
    }
  }
  return descriptor_store_string (s, out);
}

static const struct descriptor_type descriptor_filename = {
  parse_filename, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};

#define COMMON(field) offsetof (struct transfer, field)
#define ALWAYS DESCRIPTOR_ALWAYS

/* The fields every descriptor may have, whatever its backend, in the
 * order they are written back.  "backend" and "url" choose the backend
 * (select_backend); the location fields are each backend's own.  "uuid"
 * (ImageIO) and "id" (our own transfer_to_json) are known but unused:
 * the id is the file name. */
const struct descriptor_field transfer_fields[] = {
  { "dirty", NULL, &descriptor_bool, COMMON (dirty), ALWAYS, 0 },
  { "size", NULL, &descriptor_uint64, COMMON (size), COMMON (has_size), 0 },
  { "ops", NULL, &descriptor_ops, COMMON (ops), ALWAYS, 0 },
  { "read_only", NULL, &descriptor_bool, COMMON (read_only), ALWAYS,
    DESCRIPTOR_INPUT_ONLY },
  { "expires", NULL, &descriptor_expires, COMMON (expires),
    COMMON (has_expires), 0 },
  { "timeout", NULL, &descriptor_seconds, COMMON (timeout), ALWAYS, 0 },
  { "inactivity_timeout", "idle_timeout_seconds", &descriptor_seconds,
    COMMON (inactivity_timeout), ALWAYS, 0 },
  { "sparse", NULL, &descriptor_bool, COMMON (sparse), ALWAYS, 0 },
  { "filename", NULL, &descriptor_filename, COMMON (filename), ALWAYS, 0 },
  { "transfer_id", NULL, &descriptor_string, COMMON (transfer_id), ALWAYS,
    0 },
  { "uuid", NULL, NULL, 0, ALWAYS, DESCRIPTOR_IGNORED },
  { "id", NULL, NULL, 0, ALWAYS, DESCRIPTOR_IGNORED },
  { .name = NULL },
};

