/* SPDX-License-Identifier: Apache-2.0 */
/* The descriptor schema: each field of a transfer descriptor is one row
 * of a table (its name, an alias, its type, where it is stored, and a
 * few flags).  One row drives everything done with the field: parsing
 * and type checks, the alias conflict, unknown-field handling, the JSON
 * written back and the line imagexferctl prints.
 *
 * The common fields are one table in transfer.c; each backend brings the
 * table of its own location fields (backend-registry.h), stored in a
 * struct only that backend knows.
 */
#ifndef IMAGEXFER_DESCRIPTOR_FIELD_H
#define IMAGEXFER_DESCRIPTOR_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* How a field's value is read, written back and printed.  Every value
 * lives at base + offset in the struct the table describes. */
struct descriptor_type {
  /* Store value (the field named name) at out.  0, or -1 with
   * error_set (EINVAL, "<name>: ..."). */
  int (*parse) (json_object *value, const char *name, void *out);
  /* The stored value as JSON; NULL only when out of memory.  A string
   * type (one with release) is not asked when its value is NULL. */
  json_object *(*to_json) (const void *in);
  /* Print the value for people; false when there is nothing to print. */
  bool (*format) (const void *in, char *buf, size_t size);
  void (*release) (void *in);         /* NULL: nothing to free */
};

/* char *, a JSON string without NUL characters; NULL when absent. */
extern const struct descriptor_type descriptor_string;
/* char *, an absolute path. */
extern const struct descriptor_type descriptor_absolute_path;
/* char *, a string that is not empty. */
extern const struct descriptor_type descriptor_nonempty_string;
/* uint64_t, a JSON integer 0 <= n <= INT64_MAX. */
extern const struct descriptor_type descriptor_uint64;
/* int64_t seconds, a JSON integer 0 <= n <= INT64_MAX. */
extern const struct descriptor_type descriptor_seconds;
/* bool, true or false. */
extern const struct descriptor_type descriptor_bool;

/* The pieces of the types above, for types of a table's own that parse
 * differently but store the same C type. */
int descriptor_store_string (const char *s, void *out);
json_object *descriptor_string_to_json (const void *in);
bool descriptor_string_format (const void *in, char *buf, size_t size);
void descriptor_string_release (void *in);
json_object *descriptor_seconds_to_json (const void *in);
bool descriptor_seconds_format (const void *in, char *buf, size_t size);

enum descriptor_flag {
  /* Part of where the image is: conflicts with "url". */
  DESCRIPTOR_LOCATION = 1u << 0,
  /* Given without "backend" or "url", its presence selects the backend
   * whose table it is in. */
  DESCRIPTOR_SELECTS_BACKEND = 1u << 1,
  /* Read, but not written back (read_only: written back as ops). */
  DESCRIPTOR_INPUT_ONLY = 1u << 2,
  /* Known but unused ("uuid" of ImageIO tickets): never parsed. */
  DESCRIPTOR_IGNORED = 1u << 3,
};

/* Where a field is present-or-absent for numbers: the offset of a bool
 * set when the field was given; written back only then. */
#define DESCRIPTOR_ALWAYS SIZE_MAX

struct descriptor_field {
  const char *name;
  const char *alias;                  /* second accepted name, or NULL */
  const struct descriptor_type *type;
  size_t offset;                      /* of the value */
  size_t present_offset;              /* of a bool, or DESCRIPTOR_ALWAYS */
  unsigned flags;                     /* enum descriptor_flag */
};

/* The row of table (ended by a row with a NULL name) called key by its
 * name or alias, or NULL. */
const struct descriptor_field *
descriptor_field_find (const struct descriptor_field *table, const char *key);

/* The name or alias in table one edit away from key (a typo: a letter
 * wrong, missing, extra, or two swapped), or NULL. */
const char *descriptor_field_near (const struct descriptor_field *table,
                                   const char *key);

/* True when obj has field, by its name or its alias. */
bool descriptor_field_present (json_object *obj,
                               const struct descriptor_field *field);

/* The key obj uses for field (its name or alias), or NULL when absent.
 * Both at once is an error: -1 with error_set. */
int descriptor_field_key (json_object *obj,
                          const struct descriptor_field *field,
                          const char **key);

/* Parse every field of table present in obj into base.  Returns 0, or
 * -1 with error_set naming the field. */
int descriptor_parse (json_object *obj, const struct descriptor_field *table,
                      void *base);

/* Add the fields of table stored in base to obj.  0, or -1 (ENOMEM). */
int descriptor_to_json (json_object *obj,
                        const struct descriptor_field *table,
                        const void *base);

/* Print "name value" lines (name padded to width) for the fields of
 * table that have a value. */
void descriptor_print (FILE *fp, const struct descriptor_field *table,
                       const void *base, int width);

/* Free what the fields of table own in base. */
void descriptor_release (const struct descriptor_field *table, void *base);

/* percent_decode for a url field, with the error its author can act on:
 * EINVAL "url: bad percent-escape in ...", or ENOMEM.  NULL on error. */
char *descriptor_url_decode (const char *url, const char *s, size_t len);

#endif
