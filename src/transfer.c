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
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "json-field.h"
#include "log.h"
#include "transfer.h"

const char *
backend_type_name (enum backend_type type)
{
  return type == BACKEND_TYPE_NBD ? "nbd" : "file";
}

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

void
transfer_free (struct transfer *t)
{
  if (t == NULL)
    return;
  free (t->path);
  free (t->socket);
  free (t->host);
  free (t->port);
  free (t->export_name);
  free (t->export_bitmap);
  free (t->filename);
  free (t->transfer_id);
  t->path = t->socket = t->host = t->port = NULL;
  t->export_name = t->export_bitmap = t->filename = t->transfer_id = NULL;
}

/* Fields we know.  Anything else is logged at debug and ignored, so
 * that newer writers can add fields without breaking older servers.
 * "uuid" (ImageIO) and "id" (our own transfer_to_json) are known but
 * unused: the id is the file name. */
static const char *const known_fields[] = {
  "backend", "path", "file", "offset", "url", "socket", "host", "port",
  "export", "export_bitmap", "dirty", "size", "ops", "read_only",
  "expires", "timeout", "inactivity_timeout", "idle_timeout_seconds",
  "sparse", "filename", "transfer_id", "uuid", "id",
};

static bool
known_field (const char *key)
{
  for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
    if (strcmp (key, known_fields[i]) == 0)
      return true;
  return false;
}

/* The getters below return 1 when the field is present and valid, 0
 * when absent, -1 (with error_set) when present but invalid. */

/* Seconds: a non-negative integer that fits int64_t. */
static int
get_seconds (json_object *obj, const char *key, int64_t *out)
{
  uint64_t u;
  int r = json_field_uint64 (obj, key, &u);

  if (r == 1)
    *out = (int64_t) u;
  return r;
}

/* "port": a string of digits or an integer, 1-65535. */
static int
get_port (json_object *obj, char **out)
{
  json_object *v;
  char buf[16];
  const char *s;
  char *end;
  unsigned long n;

  if (!json_object_object_get_ex (obj, "port", &v))
    return 0;
  if (json_object_is_type (v, json_type_int)) {
    snprintf (buf, sizeof buf, "%" PRId64, json_object_get_int64 (v));
    s = buf;
  }
  else if (json_object_is_type (v, json_type_string)) {
    if ((s = json_string_value (v, "port")) == NULL)
      return -1;
  }
  else {
    error_set (EINVAL, "port: must be a port number");
    return -1;
  }
  errno = 0;
  n = strtoul (s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || n < 1
      || n > 65535) {
    error_set (EINVAL, "port: must be a port number 1-65535, not \"%s\"", s);
    return -1;
  }
  *out = strdup (s);
  if (*out == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 1;
}

/* One field under two names (canonical and CloudStack/ImageIO alias):
 * both at once is ambiguous. */
static int
check_alias (json_object *obj, const char *name, const char *alias)
{
  if (json_object_object_get_ex (obj, name, NULL)
      && json_object_object_get_ex (obj, alias, NULL)) {
    error_set (EINVAL, "%s and %s are the same field: give only one", name,
               alias);
    return -1;
  }
  return 0;
}

static int
parse_ops (json_object *obj, struct transfer *t)
{
  json_object *v;
  size_t n;

  if (!json_object_object_get_ex (obj, "ops", &v))
    return 0;
  if (!json_object_is_type (v, json_type_array)) {
    error_set (EINVAL, "ops: must be an array of \"read\" and \"write\"");
    return -1;
  }
  n = json_object_array_length (v);
  if (n == 0) {
    error_set (EINVAL, "ops: must not be empty");
    return -1;
  }
  t->ops = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *op = json_object_array_get_idx (v, i);
    const char *s;

    if ((s = json_string_value (op, "ops")) == NULL) {
      error_set (EINVAL, "ops: must be an array of \"read\" and \"write\"");
      return -1;
    }
    if (strcmp (s, "read") == 0)
      t->ops |= TRANSFER_OP_READ;
    else if (strcmp (s, "write") == 0)
      t->ops |= TRANSFER_OP_READ | TRANSFER_OP_WRITE;
    else {
      error_set (EINVAL, "ops: unknown operation \"%s\"", s);
      return -1;
    }
  }
  return 1;
}

static int
parse_expires (json_object *obj, struct transfer *t)
{
  json_object *v;
  uint64_t u;

  if (!json_object_object_get_ex (obj, "expires", &v))
    return 0;
  if (json_object_is_type (v, json_type_string)) {
    const char *s = json_string_value (v, "expires");

    if (s == NULL)
      return -1;
    if (transfer_parse_rfc3339 (s, &t->expires) == -1) {
      error_set (EINVAL, "expires: not an RFC 3339 timestamp: \"%s\"", s);
      return -1;
    }
    /* Before 1970: long expired; keep "expires" a valid Unix time. */
    if (t->expires < 0)
      t->expires = 0;
  }
  else if (json_object_is_type (v, json_type_int)) {
    if (json_uint64_value (v, "expires", &u) == -1)
      return -1;
    t->expires = (int64_t) u;
  }
  else {
    error_set (EINVAL,
               "expires: must be Unix seconds or an RFC 3339 timestamp");
    return -1;
  }
  t->has_expires = true;
  return 1;
}

/* Where the image is: url, or path / socket / host fields, and the
 * backend they imply. */
static int
parse_location (json_object *obj, struct transfer *t)
{
  CLEANUP_FREE char *url = NULL;
  CLEANUP_FREE char *backend = NULL;
  int r;

  if (check_alias (obj, "path", "file") == -1)
    return -1;
  if ((r = json_field_string (obj, "url", &url)) == -1
      || json_field_string (obj, "backend", &backend) == -1
      || json_field_string (obj, "path", &t->path) == -1
      || json_field_string (obj, "file", &t->path) == -1
      || json_field_string (obj, "socket", &t->socket) == -1
      || json_field_string (obj, "host", &t->host) == -1
      || get_port (obj, &t->port) == -1
      || json_field_string (obj, "export", &t->export_name) == -1
      || json_field_string (obj, "export_bitmap", &t->export_bitmap) == -1)
    return -1;

  if (backend && strcmp (backend, "file") != 0
      && strcmp (backend, "nbd") != 0) {
    error_set (EINVAL, "backend: must be \"file\" or \"nbd\", not \"%s\"",
               backend);
    return -1;
  }

  if (url) {
    static const char *const conflicting[] = {
      "path", "file", "socket", "host", "port", "export",
    };

    for (size_t i = 0; i < sizeof conflicting / sizeof conflicting[0]; i++) {
      if (json_object_object_get_ex (obj, conflicting[i], NULL)) {
        error_set (EINVAL, "url: conflicts with %s (give one location)",
                   conflicting[i]);
        return -1;
      }
    }
    if (transfer_parse_url (url, t) == -1)
      return -1;
    if (backend
        && strcmp (backend, t->backend == BACKEND_TYPE_FILE ? "file" : "nbd")
               != 0) {
      error_set (EINVAL, "backend: \"%s\" disagrees with url \"%s\"", backend,
                 url);
      return -1;
    }
  }
  else if (backend)
    t->backend = strcmp (backend, "nbd") == 0 ? BACKEND_TYPE_NBD
                                               : BACKEND_TYPE_FILE;
  else
    t->backend = t->socket || t->host ? BACKEND_TYPE_NBD : BACKEND_TYPE_FILE;
  return 0;
}

static int
check_file_backend (json_object *obj, struct transfer *t)
{
  static const char *const nbd_only[] = {
    "socket", "host", "port", "export", "export_bitmap",
  };

  for (size_t i = 0; i < sizeof nbd_only / sizeof nbd_only[0]; i++) {
    if (json_object_object_get_ex (obj, nbd_only[i], NULL)) {
      error_set (EINVAL, "%s: only valid with the nbd backend", nbd_only[i]);
      return -1;
    }
  }
  if (t->path == NULL) {
    error_set (EINVAL, "path: required for the file backend");
    return -1;
  }
  if (t->path[0] != '/') {
    error_set (EINVAL, "path: must be absolute, not \"%s\"", t->path);
    return -1;
  }
  if (json_field_uint64 (obj, "offset", &t->offset) == -1)
    return -1;
  return 0;
}

static int
check_nbd_backend (json_object *obj, struct transfer *t)
{
  if (t->path) {
    error_set (EINVAL, "path: only valid with the file backend");
    return -1;
  }
  if (json_object_object_get_ex (obj, "offset", NULL)) {
    error_set (EINVAL, "offset: only valid with the file backend");
    return -1;
  }
  if (t->socket && t->host) {
    error_set (EINVAL, "socket and host: give only one");
    return -1;
  }
  if (t->socket == NULL && t->host == NULL) {
    error_set (EINVAL, "socket: required for the nbd backend (or a url)");
    return -1;
  }
  if (t->socket && t->socket[0] != '/') {
    error_set (EINVAL, "socket: must be absolute, not \"%s\"", t->socket);
    return -1;
  }
  if (t->socket && t->port) {
    error_set (EINVAL, "port: only valid with host");
    return -1;
  }
  if (t->host && t->host[0] == '\0') {
    error_set (EINVAL, "host: must not be empty");
    return -1;
  }
  if (t->export_bitmap && t->export_bitmap[0] == '\0') {
    error_set (EINVAL, "export_bitmap: must not be empty");
    return -1;
  }
  if (t->host && t->port == NULL && (t->port = strdup ("10809")) == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  if (t->export_name == NULL && (t->export_name = strdup ("")) == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

/* Everything but the location: limits, timeouts, labels. */
/* filename goes into a Content-Disposition header: control characters
 * would split the header, quotes and backslashes would break out of its
 * quoted string. */
static int
check_filename (const char *filename)
{
  if (!filename)
    return 0;
  if (!*filename) {
    error_set (EINVAL, "filename: must not be empty");
    return -1;
  }
  for (const unsigned char *p = (const unsigned char *) filename; *p; p++) {
    if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '/') {
      error_set (EINVAL, "filename: control characters, quotes, "
                 "backslashes and slashes are not allowed");
      return -1;
    }
  }
  return 0;
}

static int
parse_options (json_object *obj, struct transfer *t)
{
  bool read_only = false;
  uint64_t size;
  int r;

  if (check_alias (obj, "inactivity_timeout", "idle_timeout_seconds") == -1)
    return -1;
  if ((r = json_field_uint64 (obj, "size", &size)) == -1)
    return -1;
  if (r == 1) {
    t->has_size = true;
    t->size = size;
  }
  if (parse_ops (obj, t) == -1 || json_field_bool (obj, "read_only", &read_only) == -1)
    return -1;
  if (read_only) {
    if (t->ops & TRANSFER_OP_WRITE
        && json_object_object_get_ex (obj, "ops", NULL)) {
      error_set (EINVAL, "read_only: conflicts with ops containing \"write\"");
      return -1;
    }
    t->ops = TRANSFER_OP_READ;
  }
  if (parse_expires (obj, t) == -1
      || get_seconds (obj, "timeout", &t->timeout) == -1
      || get_seconds (obj, "inactivity_timeout", &t->inactivity_timeout) == -1
      || get_seconds (obj, "idle_timeout_seconds", &t->inactivity_timeout)
             == -1
      || json_field_bool (obj, "sparse", &t->sparse) == -1
      || json_field_bool (obj, "dirty", &t->dirty) == -1
      || json_field_string (obj, "filename", &t->filename) == -1
      || json_field_string (obj, "transfer_id", &t->transfer_id) == -1
      || check_filename (t->filename) == -1)
    return -1;
  return 0;
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
  json_object_object_foreach (obj, key, value) {
    (void) value;
    if (!known_field (key))
      log_debug ("transfer %s: ignoring unknown field \"%s\"", id, key);
  }

  if (parse_location (obj, t) == -1)
    goto fail;
  if ((t->backend == BACKEND_TYPE_FILE ? check_file_backend (obj, t)
                                       : check_nbd_backend (obj, t))
      == -1)
    goto fail;
  if (parse_options (obj, t) == -1)
    goto fail;
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
