/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer descriptors: one JSON file per transfer in the spool.
 *
 * Operators (or the management systems above us) write these files;
 * every request reads its descriptor again, so a bad file must never
 * take the server down: it is rejected with a one-line reason and the
 * transfer is treated as absent.  Validation is strict on purpose: a
 * typo such as "size": "10G" must fail loudly rather than turn into an
 * unchecked transfer.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-registry.h"
#include "cleanup.h"
#include "descriptor-field.h"
#include "error.h"
#include "json-field.h"
#include "log.h"
#include "transfer.h"

bool
transfer_id_valid (const char *id)
{
  size_t len;

  if (id == NULL || id[0] == '\0' || id[0] == '.')
    return false;
  len = strspn (id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789._-");
  return id[len] == '\0' && len <= TRANSFER_ID_MAX;
}

/* Free the backend's location and forget the backend. */
static void
location_free (struct transfer *t)
{
  if (t->type != NULL && t->location != NULL)
    descriptor_release (t->type->fields, t->location);
  free (t->location);
  t->location = NULL;
  t->type = NULL;
}

void
transfer_free (struct transfer *t)
{
  if (t == NULL)
    return;
  descriptor_release (transfer_fields, t);
  location_free (t);
}

/* The fields that choose the backend (select_backend), known beside the
 * common table and each backend's. */
static const struct descriptor_field selector_fields[] = {
  { .name = "backend" }, { .name = "url" }, { .name = NULL },
};

/* The known field a key is a typo of, or NULL. */
static const char *
field_near (const char *key)
{
  const char *near = descriptor_field_near (selector_fields, key);

  if (near == NULL)
    near = descriptor_field_near (transfer_fields, key);
  for (size_t i = 0; near == NULL && backend_types[i]; i++)
    near = descriptor_field_near (backend_types[i]->fields, key);
  return near;
}

bool
transfer_field_known (const char *key)
{
  if (descriptor_field_find (selector_fields, key)
      || descriptor_field_find (transfer_fields, key))
    return true;
  for (size_t i = 0; backend_types[i]; i++)
    if (descriptor_field_find (backend_types[i]->fields, key))
      return true;
  return false;
}

/* Unknown fields are ignored, so that newer writers can add fields
 * without breaking older servers; but one a typo away from a known
 * field ("read_onyl": true) would silently drop what its writer meant,
 * a read-only transfer becoming writable, so it is refused. */
static int
check_unknown_fields (const char *id, json_object *obj)
{
  json_object_object_foreach (obj, key, value) {
    const char *near;

    (void) value;
    if (transfer_field_known (key))
      continue;
    if ((near = field_near (key)) != NULL) {
      error_set (EINVAL, "%s: unknown field, did you mean \"%s\"?", key,
                 near);
      return -1;
    }
    log_debug ("transfer %s: ignoring unknown field \"%s\"", id, key);
  }
  return 0;
}

/* Any location field of any backend given beside a url. */
static int
check_url_alone (json_object *obj)
{
  for (size_t i = 0; backend_types[i]; i++) {
    for (const struct descriptor_field *f = backend_types[i]->fields;
         f->name; f++) {
      const char *key;

      if (!(f->flags & DESCRIPTOR_LOCATION))
        continue;
      /* Both names at once is the alias error, reported as such. */
      if (descriptor_field_key (obj, f, &key) == -1)
        return -1;
      if (key != NULL) {
        error_set (EINVAL, "url: conflicts with %s (give one location)", key);
        return -1;
      }
    }
  }
  return 0;
}

static int
allocate_location (struct transfer *t, const struct backend_type *type)
{
  t->type = type;
  t->location = calloc (1, type->location_size ? type->location_size : 1);
  if (t->location == NULL) {
    error_set (ENOMEM, "calloc");
    return -1;
  }
  return 0;
}

/* The backend whose url form url is: the location filled in. */
static int
select_by_url (const char *url, struct transfer *t)
{
  char forms[256] = "";

  for (size_t i = 0; backend_types[i]; i++) {
    const struct backend_type *type = backend_types[i];
    int r;

    if (type->parse_url == NULL)
      continue;
    if (allocate_location (t, type) == -1)
      return -1;
    r = type->parse_url (url, t->location);
    if (r == 1)
      return 0;
    location_free (t);
    if (r == -1)
      return -1;
    if (forms[0])
      strncat (forms, ", ", sizeof forms - strlen (forms) - 1);
    strncat (forms, type->url_forms, sizeof forms - strlen (forms) - 1);
  }
  error_set (EINVAL, "url: unsupported scheme in \"%s\" (%s)", url, forms);
  return -1;
}

/* Without "backend" or "url": the backend one of whose selecting fields
 * is present (every backend but the default is asked first), else the
 * default. */
static const struct backend_type *
select_by_fields (json_object *obj)
{
  for (size_t i = 1; backend_types[i]; i++) {
    for (const struct descriptor_field *f = backend_types[i]->fields;
         f->name; f++) {
      if (f->flags & DESCRIPTOR_SELECTS_BACKEND
          && descriptor_field_present (obj, f))
        return backend_types[i];
    }
  }
  return backend_types[0];
}

/* Which backend, from "backend", "url" or the fields present; t->type
 * and t->location are set (a url's location filled in). */
static int
select_backend (json_object *obj, struct transfer *t)
{
  CLEANUP_FREE char *url = NULL;
  CLEANUP_FREE char *name = NULL;
  const struct backend_type *named = NULL;

  if (json_field_string (obj, "url", &url) == -1
      || json_field_string (obj, "backend", &name) == -1)
    return -1;
  if (name && (named = backend_type_find (name)) == NULL) {
    char names[256];

    backend_type_names (names, sizeof names);
    error_set (EINVAL, "backend: must be %s, not \"%s\"", names, name);
    return -1;
  }
  if (url == NULL)
    return allocate_location (t, named ? named : select_by_fields (obj));

  if (check_url_alone (obj) == -1 || select_by_url (url, t) == -1)
    return -1;
  if (named && named != t->type) {
    error_set (EINVAL, "backend: \"%s\" disagrees with url \"%s\"", name, url);
    return -1;
  }
  return 0;
}

/* Fields of other backends are mistakes, named as such. */
static int
check_foreign_fields (json_object *obj, const struct backend_type *type)
{
  for (size_t i = 0; backend_types[i]; i++) {
    const struct backend_type *other = backend_types[i];

    if (other == type)
      continue;
    for (const struct descriptor_field *f = other->fields; f->name; f++) {
      if (descriptor_field_find (type->fields, f->name))
        continue;
      if (descriptor_field_present (obj, f)) {
        error_set (EINVAL, "%s: only valid with the %s backend", f->name,
                   other->name);
        return -1;
      }
    }
  }
  return 0;
}

static const char *const *image_roots;

void
transfer_set_image_roots (const char *const *roots)
{
  image_roots = roots;
}

const char *const *
transfer_image_roots (void)
{
  return image_roots;
}

static bool
under_root (const char *resolved, const char *const *roots)
{
  for (size_t i = 0; roots[i]; i++) {
    size_t n = strlen (roots[i]);

    if (strncmp (resolved, roots[i], n) == 0
        && (resolved[n] == '/' || resolved[n] == '\0'
            || (n == 1 && roots[i][0] == '/')))
      return true;
  }
  return false;
}

bool
transfer_path_confined (const char *path, const char *const *roots)
{
  CLEANUP_FREE char *resolved = realpath (path, NULL);
  CLEANUP_FREE char *parent = NULL;
  const char *slash;

  if (resolved != NULL)
    return under_root (resolved, roots);
  if (errno != ENOENT || (slash = strrchr (path, '/')) == NULL)
    return false;
  /* Not there yet: its directory decides (the name itself is no link). */
  parent = strndup (path, slash == path ? 1 : (size_t) (slash - path));
  if (parent == NULL || strcmp (slash + 1, "..") == 0
      || strcmp (slash + 1, ".") == 0)
    return false;
  free (resolved);
  resolved = realpath (parent, NULL);
  return resolved != NULL && under_root (resolved, roots);
}

int
transfer_from_json (const char *id, json_object *obj, struct transfer *t)
{
  memset (t, 0, sizeof *t);
  snprintf (t->id, sizeof t->id, "%s", id);
  t->ops = TRANSFER_OP_READ | TRANSFER_OP_WRITE;
  t->sparse = true;

  if (!json_object_is_type (obj, json_type_object)) {
    error_set (EINVAL, "top level: must be a JSON object");
    return -1;
  }
  if (check_unknown_fields (id, obj) == -1
      || select_backend (obj, t) == -1
      || check_foreign_fields (obj, t->type) == -1
      || descriptor_parse (obj, t->type->fields, t->location) == -1
      || (t->type->check && t->type->check (t->location) == -1)
      || (image_roots && t->type->confine
          && t->type->confine (t->location, image_roots) == -1)
      || descriptor_parse (obj, transfer_fields, t) == -1)
    goto fail;
  if (t->read_only) {
    if (t->ops & TRANSFER_OP_WRITE
        && json_object_object_get_ex (obj, "ops", NULL)) {
      error_set (EINVAL, "read_only: conflicts with ops containing \"write\"");
      goto fail;
    }
    t->ops = TRANSFER_OP_READ;
  }
  return 0;

 fail:
  transfer_free (t);
  return -1;
}

int
transfer_parse (const char *id, const char *text, size_t len,
                struct transfer *t)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  struct json_tokener *tok;
  enum json_tokener_error err;
  size_t end;

  memset (t, 0, sizeof *t);
  if (len > INT_MAX) {
    error_set (EINVAL, "descriptor too large");
    return -1;
  }
  tok = json_tokener_new ();
  if (tok == NULL) {
    error_set (ENOMEM, "json_tokener_new");
    return -1;
  }
  json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  obj = json_tokener_parse_ex (tok, text, (int) len);
  err = json_tokener_get_error (tok);
  end = json_tokener_get_parse_end (tok);
  json_tokener_free (tok);

  if (err == json_tokener_continue) {
    /* Typically a file caught while its writer is still at it. */
    error_set (EINVAL, "truncated JSON");
    return -1;
  }
  if (err != json_tokener_success) {
    error_set (EINVAL, "bad JSON at byte %zu: %s", end,
               json_tokener_error_desc (err));
    return -1;
  }
  for (; end < len; end++) {
    if (strchr (" \t\r\n", text[end]) == NULL || text[end] == '\0') {
      error_set (EINVAL, "junk after the JSON object at byte %zu",
                 end);
      return -1;
    }
  }
  if (obj == NULL) {
    /* The document was the JSON literal null. */
    error_set (EINVAL, "top level: must be a JSON object");
    return -1;
  }
  return transfer_from_json (id, obj, t);
}
