/* The normalized descriptor as JSON, canonical field names only. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "cleanup.h"
#include "error.h"
#include "json-field.h"
#include "transfer.h"


static int
add_string (json_object *obj, const char *key, const char *value)
{
  if (value == NULL)
    return 0;
  return json_add (obj, key, json_object_new_string (value));
}

static json_object *
ops_to_json (unsigned ops)
{
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

json_object *
transfer_to_json (const struct transfer *t)
{
  CLEANUP_JSON_PUT json_object *obj = json_object_new_object ();
  bool file = t->backend == BACKEND_TYPE_FILE;
  json_object *ret;

  if (obj == NULL
      || add_string (obj, "id", t->id) == -1
      || add_string (obj, "backend", file ? "file" : "nbd") == -1
      || add_string (obj, "path", t->path) == -1
      || (file && json_add (obj, "offset", json_object_new_uint64 (t->offset)) == -1)
      || add_string (obj, "socket", t->socket) == -1
      || add_string (obj, "host", t->host) == -1
      || add_string (obj, "port", t->port) == -1
      || add_string (obj, "export", t->export_name) == -1
      || add_string (obj, "export_bitmap", t->export_bitmap) == -1
      || json_add (obj, "dirty", json_object_new_boolean (t->dirty)) == -1
      || (t->has_size && json_add (obj, "size", json_object_new_uint64 (t->size)) == -1)
      || json_add (obj, "ops", ops_to_json (t->ops)) == -1
      || (t->has_expires
          && json_add (obj, "expires", json_object_new_int64 (t->expires)) == -1)
      || json_add (obj, "timeout", json_object_new_int64 (t->timeout)) == -1
      || json_add (obj, "inactivity_timeout",
              json_object_new_int64 (t->inactivity_timeout)) == -1
      || json_add (obj, "sparse", json_object_new_boolean (t->sparse)) == -1
      || add_string (obj, "filename", t->filename) == -1
      || add_string (obj, "transfer_id", t->transfer_id) == -1) {
    error_set (ENOMEM, "transfer_to_json");
    return NULL;
  }
  ret = obj;
  obj = NULL;
  return ret;
}
