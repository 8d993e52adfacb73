/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend in the registry: its descriptor fields (remote_url,
 * ca_file, insecure, headers, remote_timeout), its url forms (http://,
 * https://, as in an ImageIO ticket's "url") and its checks.
 *
 * The headers carry credentials for the remote (an Authorization line):
 * everything that shows a descriptor (imagexferctl show, /api/v2/
 * transfers/<id>) prints their names with the values masked.
 */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend-http.h"
#include "backend-registry.h"
#include "error.h"
#include "json-field.h"

#define HTTP_HEADERS_MAX 32
#define HTTP_HEADER_MASK "***"

/* http://HOST[:PORT]/... or https://...: a host, and nothing a request
 * line could not carry.  The url is used as given (libcurl parses it). */
static int
http_parse_url (const char *url, void *location)
{
  struct http_location *loc = location;
  const char *rest;

  if (strncmp (url, "http://", 7) == 0)
    rest = url + 7;
  else if (strncmp (url, "https://", 8) == 0)
    rest = url + 8;
  else
    return 0;
  if (rest[0] == '\0' || rest[0] == '/' || rest[0] == ':') {
    error_set (EINVAL, "url: missing host in \"%s\"", url);
    return -1;
  }
  for (const char *p = url; *p; p++) {
    if ((unsigned char) *p <= ' ' || *p == 0x7f) {
      error_set (EINVAL, "url: spaces or control characters in \"%s\"", url);
      return -1;
    }
  }
  if (strchr (rest, '#')) {
    error_set (EINVAL, "url: a fragment has no meaning here: \"%s\"", url);
    return -1;
  }
  if (strchr (rest, '@') && strchr (rest, '@') < rest + strcspn (rest, "/?")) {
    /* user:password@ would be printed wherever the url is. */
    error_set (EINVAL, "url: give credentials in \"headers\", not in the "
               "url");
    return -1;
  }
  return descriptor_store_string (url, &loc->url) == -1 ? -1 : 1;
}

static int
parse_remote_url (json_object *v, const char *name, void *out)
{
  const char *s = json_string_value (v, name);
  struct http_location probe = { .url = NULL };
  int r;

  if (s == NULL)
    return -1;
  r = http_parse_url (s, &probe);
  if (r == 0)
    error_set (EINVAL, "%s: must be an http:// or https:// URL, not \"%s\"",
               name, s);
  if (r != 1)
    return -1;
  free (*(char **) out);
  *(char **) out = probe.url;
  return 0;
}

static const struct descriptor_type descriptor_remote_url = {
  parse_remote_url, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};

/* A header name is an HTTP token; a value has no CR, LF or NUL (json-c
 * strings may hold a NUL: the length tells). */
static bool
header_name_valid (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!strchr ("!#$%&'*+-.^_`|~", *s)
        && !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
             || (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

/* Headers imagexfer sets itself, per request: a descriptor's would
 * contradict them and corrupt data. */
static bool
header_name_reserved (const char *s)
{
  static const char *const reserved[] = {
    "Range", "Content-Range", "Content-Length", "Content-Type", "Expect",
    "Transfer-Encoding", "Host", "Connection", NULL,
  };

  for (size_t i = 0; reserved[i]; i++)
    if (strcasecmp (s, reserved[i]) == 0)
      return true;
  return false;
}

static bool
header_value_valid (json_object *v)
{
  const char *s = json_object_get_string (v);
  size_t len = (size_t) json_object_get_string_len (v);

  return strlen (s) == len && strpbrk (s, "\r\n") == NULL;
}

static void
headers_free (struct http_headers *h)
{
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->count; i++)
    free (h->lines[i]);
  free (h->lines);
  free (h);
}

/* "headers": {"Name": "value", ...}, kept as "Name: value" lines. */
static int
parse_headers (json_object *v, const char *name, void *out)
{
  struct http_headers *h;
  size_t n = 0;

  if (!json_object_is_type (v, json_type_object)) {
    error_set (EINVAL, "%s: must be an object of \"Name\": \"value\"", name);
    return -1;
  }
  if (json_object_object_length (v) > HTTP_HEADERS_MAX) {
    error_set (EINVAL, "%s: more than %d headers", name, HTTP_HEADERS_MAX);
    return -1;
  }
  h = calloc (1, sizeof *h);
  if (h == NULL || (h->lines = calloc ((size_t) json_object_object_length (v)
                                       + 1, sizeof (char *))) == NULL) {
    free (h);
    error_set (ENOMEM, "calloc");
    return -1;
  }
  json_object_object_foreach (v, key, value) {
    /* The message names the header, never its value. */
    if (!header_name_valid (key)) {
      error_set (EINVAL, "%s: \"%s\" is not a header name", name, key);
      goto fail;
    }
    if (header_name_reserved (key)) {
      error_set (EINVAL, "%s: %s is set by imagexfer for each request",
                 name, key);
      goto fail;
    }
    if (!json_object_is_type (value, json_type_string)
        || !header_value_valid (value)) {
      error_set (EINVAL, "%s: %s: must be a string without line breaks",
                 name, key);
      goto fail;
    }
    if (asprintf (&h->lines[n], "%s: %s", key,
                  json_object_get_string (value)) == -1) {
      h->lines[n] = NULL;
      error_set (ENOMEM, "asprintf");
      goto fail;
    }
    h->count = ++n;
  }
  headers_free (*(struct http_headers **) out);
  *(struct http_headers **) out = h;
  return 0;

 fail:
  headers_free (h);
  return -1;
}

/* The names, each value masked: what may be shown. */
static json_object *
headers_to_json (const void *in)
{
  const struct http_headers *h = *(struct http_headers *const *) in;
  json_object *obj;

  if (h == NULL)
    return NULL;
  obj = json_object_new_object ();
  for (size_t i = 0; obj && i < h->count; i++) {
    const char *colon = strchr (h->lines[i], ':');
    char key[256];

    snprintf (key, sizeof key, "%.*s", (int) (colon - h->lines[i]),
              h->lines[i]);
    json_object_object_add (obj, key, json_object_new_string (HTTP_HEADER_MASK));
  }
  return obj;
}

static bool
headers_format (const void *in, char *buf, size_t size)
{
  const struct http_headers *h = *(struct http_headers *const *) in;
  size_t used = 0;

  if (h == NULL || h->count == 0)
    return false;
  buf[0] = '\0';
  for (size_t i = 0; i < h->count && used < size; i++) {
    const char *colon = strchr (h->lines[i], ':');
    int r = snprintf (buf + used, size - used, "%s%.*s: " HTTP_HEADER_MASK,
                      i ? ", " : "", (int) (colon - h->lines[i]),
                      h->lines[i]);

    if (r < 0)
      break;
    used += (size_t) r;
  }
  return true;
}

static void
headers_release (void *in)
{
  headers_free (*(struct http_headers **) in);
  *(struct http_headers **) in = NULL;
}

static const struct descriptor_type descriptor_headers = {
  parse_headers, headers_to_json, headers_format, headers_release,
};

#define LOCATION(field) offsetof (struct http_location, field)
#define ALWAYS DESCRIPTOR_ALWAYS

static const struct descriptor_field http_fields[] = {
  { "remote_url", NULL, &descriptor_remote_url, LOCATION (url), ALWAYS,
    DESCRIPTOR_LOCATION | DESCRIPTOR_SELECTS_BACKEND },
  { "ca_file", NULL, &descriptor_absolute_path, LOCATION (ca_file), ALWAYS,
    0 },
  { "insecure", NULL, &descriptor_bool, LOCATION (insecure), ALWAYS, 0 },
  { "headers", NULL, &descriptor_headers, LOCATION (headers), ALWAYS, 0 },
  { "remote_timeout", NULL, &descriptor_seconds, LOCATION (remote_timeout),
    ALWAYS, 0 },
  { NULL },
};

static int
http_check (void *location)
{
  const struct http_location *loc = location;

  if (loc->url == NULL) {
    error_set (EINVAL, "remote_url: required for the http backend (or a "
               "url)");
    return -1;
  }
  if (loc->insecure && loc->ca_file) {
    error_set (EINVAL, "insecure: conflicts with ca_file (give one)");
    return -1;
  }
  if ((loc->insecure || loc->ca_file) && strncmp (loc->url, "https:", 6)) {
    error_set (EINVAL, "%s: only valid with an https:// url",
               loc->insecure ? "insecure" : "ca_file");
    return -1;
  }
  return 0;
}

const struct backend_type backend_type_http = {
  .name = "http",
  .ops = &backend_http_ops,
  .location_size = sizeof (struct http_location),
  .fields = http_fields,
  .url_forms = "http:// or https://",
  .parse_url = http_parse_url,
  .check = http_check,
};
