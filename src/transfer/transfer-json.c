/* SPDX-License-Identifier: Apache-2.0 */
/* The normalized descriptor as JSON, canonical field names only: the
 * id, the backend, its location fields, then the common fields. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "backend-registry.h"
#include "cleanup.h"
#include "error.h"
#include "json-field.h"
#include "transfer.h"

json_object *
transfer_to_json (const struct transfer *t)
{
  CLEANUP_JSON_PUT json_object *obj = json_object_new_object ();
  json_object *ret;

  if (obj == NULL
      || json_add (obj, "id", json_object_new_string (t->id)) == -1
      || json_add (obj, "backend", json_object_new_string (t->type->name))
             == -1
      || descriptor_to_json (obj, t->type->fields, t->location) == -1
      || descriptor_to_json (obj, transfer_fields, t) == -1) {
    error_set (ENOMEM, "transfer_to_json");
    return NULL;
  }
  ret = obj;
  obj = NULL;
  return ret;
}
