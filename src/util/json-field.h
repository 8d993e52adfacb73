/* SPDX-License-Identifier: Apache-2.0 */
/* Typed fields of JSON objects written by clients and operators. */
#ifndef IMAGEXFER_JSON_FIELD_H
#define IMAGEXFER_JSON_FIELD_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* The field key of obj: 1 when present and valid (stored in *out), 0
 * when absent (*out untouched), -1 with error_set (EINVAL, "key: ...")
 * when of the wrong type or out of range. */
int json_field_string (json_object *obj, const char *key, char **out);
int json_field_bool (json_object *obj, const char *key, bool *out);
/* An integer 0 <= n <= INT64_MAX. */
int json_field_uint64 (json_object *obj, const char *key, uint64_t *out);

/* The same checks on a value: the C string of a JSON string without NUL
 * characters, or NULL; an integer as above, 0 or -1. */
const char *json_string_value (json_object *v, const char *key);
int json_uint64_value (json_object *v, const char *key, uint64_t *out);

/* Add value under key, taking ownership: on failure (a NULL value from
 * a failed allocation, too) value is released and -1 returned. */
int json_add (json_object *obj, const char *key, json_object *value);

#endif
