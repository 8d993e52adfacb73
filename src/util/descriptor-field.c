/* SPDX-License-Identifier: Apache-2.0 */
/* The descriptor schema machinery: field types, and the loops over a
 * table of fields that parse, write back, print and free them. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor-field.h"
#include "error.h"
#include "json-field.h"
#include "text-parse.h"

#define FIELD(base, offset) ((char *) (base) + (offset))

/* Strings. */

int
descriptor_store_string (const char *s, void *out)
{
  char **p = out;

  free (*p);
  *p = strdup (s);
  if (*p == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

static int
store_string (json_object *value, const char *name, void *out)
{
  const char *s = json_string_value (value, name);

  if (s == NULL)
    return -1;
  return descriptor_store_string (s, out);
}

static int
parse_absolute_path (json_object *value, const char *name, void *out)
{
  const char *s = json_string_value (value, name);

  if (s == NULL)
    return -1;
  if (s[0] != '/') {
    error_set (EINVAL, "%s: must be absolute, not \"%s\"", name, s);
    return -1;
  }
  return store_string (value, name, out);
}

static int
parse_nonempty_string (json_object *value, const char *name, void *out)
{
  const char *s = json_string_value (value, name);

  if (s == NULL)
    return -1;
  if (s[0] == '\0') {
    error_set (EINVAL, "%s: must not be empty", name);
    return -1;
  }
  return store_string (value, name, out);
}

json_object *
descriptor_string_to_json (const void *in)
{
  const char *s = *(char *const *) in;

  return s ? json_object_new_string (s) : NULL;
}

bool
descriptor_string_format (const void *in, char *buf, size_t size)
{
  const char *s = *(char *const *) in;

  if (s == NULL || s[0] == '\0')
    return false;
  snprintf (buf, size, "%s", s);
  return true;
}

void
descriptor_string_release (void *in)
{
  char **p = in;

  free (*p);
  *p = NULL;
}

const struct descriptor_type descriptor_string = {
  store_string, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};
const struct descriptor_type descriptor_absolute_path = {
  parse_absolute_path, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};
const struct descriptor_type descriptor_nonempty_string = {
  parse_nonempty_string, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};

/* Numbers. */

static int
parse_uint64 (json_object *value, const char *name, void *out)
{
  return json_uint64_value (value, name, out);
}

static json_object *
uint64_to_json (const void *in)
{
  return json_object_new_uint64 (*(const uint64_t *) in);
}

static bool
format_uint64 (const void *in, char *buf, size_t size)
{
  snprintf (buf, size, "%" PRIu64, *(const uint64_t *) in);
  return true;
}

static int
parse_seconds (json_object *value, const char *name, void *out)
{
  uint64_t u;

  if (json_uint64_value (value, name, &u) == -1)
    return -1;
  *(int64_t *) out = (int64_t) u;
  return 0;
}

json_object *
descriptor_seconds_to_json (const void *in)
{
  return json_object_new_int64 (*(const int64_t *) in);
}

bool
descriptor_seconds_format (const void *in, char *buf, size_t size)
{
  snprintf (buf, size, "%" PRId64, *(const int64_t *) in);
  return true;
}

const struct descriptor_type descriptor_uint64 = {
  parse_uint64, uint64_to_json, format_uint64, NULL,
};
const struct descriptor_type descriptor_seconds = {
  parse_seconds, descriptor_seconds_to_json, descriptor_seconds_format, NULL,
};

/* Booleans. */

static int
parse_bool (json_object *value, const char *name, void *out)
{
  if (!json_object_is_type (value, json_type_boolean)) {
    error_set (EINVAL, "%s: must be true or false", name);
    return -1;
  }
  *(bool *) out = json_object_get_boolean (value);
  return 0;
}

static json_object *
bool_to_json (const void *in)
{
  return json_object_new_boolean (*(const bool *) in);
}

static bool
format_bool (const void *in, char *buf, size_t size)
{
  snprintf (buf, size, "%s", *(const bool *) in ? "yes" : "no");
  return true;
}

const struct descriptor_type descriptor_bool = {
  parse_bool, bool_to_json, format_bool, NULL,
};

/* Tables. */

const struct descriptor_field *
descriptor_field_find (const struct descriptor_field *table, const char *key)
{
  for (; table && table->name; table++) {
    if (strcmp (table->name, key) == 0
        || (table->alias && strcmp (table->alias, key) == 0))
      return table;
  }
  return NULL;
}

bool
descriptor_field_present (json_object *obj,
                          const struct descriptor_field *field)
{
  return json_object_object_get_ex (obj, field->name, NULL)
         || (field->alias && json_object_object_get_ex (obj, field->alias,
                                                        NULL));
}

int
descriptor_field_key (json_object *obj, const struct descriptor_field *field,
                      const char **key)
{
  bool by_name = json_object_object_get_ex (obj, field->name, NULL);
  bool by_alias = field->alias
                  && json_object_object_get_ex (obj, field->alias, NULL);

  *key = NULL;
  if (by_name && by_alias) {
    error_set (EINVAL, "%s and %s are the same field: give only one",
               field->name, field->alias);
    return -1;
  }
  if (by_name)
    *key = field->name;
  else if (by_alias)
    *key = field->alias;
  return 0;
}

int
descriptor_parse (json_object *obj, const struct descriptor_field *table,
                  void *base)
{
  for (; table->name; table++) {
    json_object *value;
    const char *key;

    if (table->flags & DESCRIPTOR_IGNORED)
      continue;
    if (descriptor_field_key (obj, table, &key) == -1)
      return -1;
    if (key == NULL)
      continue;
    json_object_object_get_ex (obj, key, &value);
    if (table->type->parse (value, key, FIELD (base, table->offset)) == -1)
      return -1;
    if (table->present_offset != DESCRIPTOR_ALWAYS)
      *(bool *) FIELD (base, table->present_offset) = true;
  }
  return 0;
}

int
descriptor_to_json (json_object *obj, const struct descriptor_field *table,
                    const void *base)
{
  for (; table->name; table++) {
    json_object *value;

    if (table->flags & (DESCRIPTOR_IGNORED | DESCRIPTOR_INPUT_ONLY))
      continue;
    if (table->present_offset != DESCRIPTOR_ALWAYS
        && !*(const bool *) FIELD (base, table->present_offset))
      continue;
    /* Strings (the fields that own memory) are absent when NULL. */
    if (table->type->release != NULL
        && *(char *const *) FIELD (base, table->offset) == NULL)
      continue;
    value = table->type->to_json (FIELD (base, table->offset));
    if (json_add (obj, table->name, value) == -1)   /* NULL: ENOMEM */
      return -1;
  }
  return 0;
}

void
descriptor_print (FILE *fp, const struct descriptor_field *table,
                  const void *base, int width)
{
  char buf[4096];

  for (; table->name; table++) {
    if (table->flags & (DESCRIPTOR_IGNORED | DESCRIPTOR_INPUT_ONLY))
      continue;
    if (table->present_offset != DESCRIPTOR_ALWAYS
        && !*(const bool *) FIELD (base, table->present_offset))
      continue;
    if (table->type->format (FIELD (base, table->offset), buf, sizeof buf))
      fprintf (fp, "%-*s %s\n", width, table->name, buf);
  }
}

void
descriptor_release (const struct descriptor_field *table, void *base)
{
  for (; table && table->name; table++) {
    if (table->type && table->type->release)
      table->type->release (FIELD (base, table->offset));
  }
}

/* Optimal string alignment distance, capped: 0, 1, or 2 meaning "two
 * or more".  A swap of two neighbours counts as one edit (read_onyl). */
static unsigned
edit_distance_capped (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);

  if (strcmp (a, b) == 0)
    return 0;
  if (la > lb + 1 || lb > la + 1)
    return 2;
  for (size_t i = 0; i < la && i < lb; i++) {
    if (a[i] == b[i])
      continue;
    /* First difference: the rest must then match after one edit. */
    if (strcmp (a + i + 1, b + i + 1) == 0          /* substitution */
        || strcmp (a + i, b + i + 1) == 0           /* insertion */
        || strcmp (a + i + 1, b + i) == 0           /* deletion */
        || (a[i + 1] && b[i + 1] && a[i] == b[i + 1] && a[i + 1] == b[i]
            && strcmp (a + i + 2, b + i + 2) == 0)) /* swap */
      return 1;
    return 2;
  }
  return 1;                     /* one is the other plus a last character */
}

const char *
descriptor_field_near (const struct descriptor_field *table, const char *key)
{
  for (; table && table->name; table++) {
    /* A typo of a field that is ignored anyway loses nothing. */
    if (table->flags & DESCRIPTOR_IGNORED)
      continue;
    if (edit_distance_capped (key, table->name) == 1)
      return table->name;
    if (table->alias && edit_distance_capped (key, table->alias) == 1)
      return table->alias;
  }
  return NULL;
}

char *
descriptor_url_decode (const char *url, const char *s, size_t len)
{
  char *out = percent_decode (s, len);

  if (out == NULL && errno == ENOMEM)
    error_set (ENOMEM, "out of memory");
  else if (out == NULL)
    error_set (EINVAL, "url: bad percent-escape in \"%s\"", url);
  else if (!utf8_valid (out, strlen (out))) {
    /* The descriptor is written back as JSON (/api, imagexferctl), and
     * NBD export names are UTF-8. */
    error_set (EINVAL, "url: percent-escapes that are not UTF-8 in \"%s\"",
               url);
    free (out);
    out = NULL;
  }
  return out;
}
