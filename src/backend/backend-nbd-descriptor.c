/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend in the registry: its descriptor fields (CloudStack's
 * socket/export/export_bitmap, host and port), its url forms and its
 * checks.
 *
 * Two families of url syntax reach us: RFC 3986 style URIs (nbd://,
 * nbd+unix:// as in the NBD URI specification) and the older qemu style
 * strings oVirt ImageIO puts in its tickets (nbd:unix:/path:exportname=
 * NAME, nbd:HOST:PORT:exportname=NAME).  Percent-escapes are decoded in
 * the URI forms only; the qemu forms are taken literally, as qemu does.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-nbd-host.h"
#include "backend-nbd.h"
#include "backend-registry.h"
#include "error.h"
#include "json-field.h"

static char *
copy_n (const char *s, size_t len)
{
  char *r = strndup (s, len);

  if (r == NULL)
    error_set (ENOMEM, "strndup");
  return r;
}

static bool
valid_port (const char *s, size_t len)
{
  unsigned long v = 0;

  if (len == 0 || len > 5)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (unsigned long) (s[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* The port in s[0..len) without its leading zeros ("080" is port 80, as
 * getaddrinfo reads it), updating *len; NULL when it is not a port
 * 1-65535.  The url and the "port" field both go through here, so that
 * one port is always written back the same way. */
static const char *
port_digits (const char *s, size_t *len)
{
  while (*len > 1 && s[0] == '0' && s[1] >= '0' && s[1] <= '9') {
    s++;
    (*len)--;
  }
  return valid_port (s, *len) ? s : NULL;
}

/* HOST or [IPV6] followed by an optional :PORT, from s[0..len). */
static int
parse_host_port (const char *url, const char *s, size_t len, bool port_required,
                 struct nbd_location *loc)
{
  const char *host = s, *port = NULL, *why = NULL;
  size_t host_len, port_len = 0;
  bool ipv6 = false;

  if (len > 0 && s[0] == '[') {
    const char *close = memchr (s, ']', len);

    if (close == NULL) {
      error_set (EINVAL, "url: unterminated IPv6 address in \"%s\"", url);
      return -1;
    }
    ipv6 = true;
    host = s + 1;
    host_len = (size_t) (close - host);
    if (close + 1 < s + len) {
      if (close[1] != ':') {
        error_set (EINVAL, "url: junk after IPv6 address in \"%s\"", url);
        return -1;
      }
      port = close + 2;
      port_len = (size_t) (s + len - port);
    }
  }
  else {
    const char *colon = memrchr (s, ':', len);

    host_len = colon ? (size_t) (colon - s) : len;
    if (colon) {
      port = colon + 1;
      port_len = (size_t) (s + len - port);
    }
  }

  if (ipv6 && memchr (host, ':', host_len) == NULL)
    why = "brackets are only for an IPv6 address";
  if (why || !nbd_host_valid (host, host_len, ipv6, &why)) {
    error_set (EINVAL, "url: bad host in \"%s\": %s", url, why);
    return -1;
  }
  if (port == NULL && port_required) {
    error_set (EINVAL, "url: missing port in \"%s\"", url);
    return -1;
  }
  if (port && (port = port_digits (port, &port_len)) == NULL) {
    error_set (EINVAL, "url: bad port in \"%s\"", url);
    return -1;
  }
  loc->host = copy_n (host, host_len);
  loc->port = port ? copy_n (port, port_len) : strdup (NBD_DEFAULT_PORT);
  if (loc->host == NULL || loc->port == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

/* nbd+unix:///EXPORT?socket=/path */
static int
parse_nbd_unix_url (const char *url, const char *rest, struct nbd_location *loc)
{
  const char *query = strchr (rest, '?');
  const char *p;

  if (query == NULL) {
    error_set (EINVAL, "url: nbd+unix URL needs ?socket=PATH: \"%s\"", url);
    return -1;
  }
  /* Empty authority, then an optional "/EXPORT". */
  if (rest != query && rest[0] != '/') {
    error_set (EINVAL, "url: nbd+unix URL must not name a host: \"%s\"", url);
    return -1;
  }
  p = rest == query ? rest : rest + 1;
  loc->export_name = descriptor_url_decode (url, p, (size_t) (query - p));
  if (loc->export_name == NULL)
    return -1;

  for (p = query + 1; *p;) {
    size_t len = strcspn (p, "&");

    if (strncmp (p, "socket=", 7) == 0 && len > 7) {
      free (loc->socket);
      loc->socket = descriptor_url_decode (url, p + 7, len - 7);
      if (loc->socket == NULL)
        return -1;
    }
    else {
      error_set (EINVAL, "url: unsupported query parameter \"%.*s\" in \"%s\"",
                 (int) len, p, url);
      return -1;
    }
    p += len;
    if (*p == '&')
      p++;
  }
  if (loc->socket == NULL || loc->socket[0] != '/') {
    error_set (EINVAL, "url: nbd+unix URL needs an absolute socket path: "
               "\"%s\"", url);
    return -1;
  }
  return 0;
}

/* nbd://HOST[:PORT][/EXPORT] */
static int
parse_nbd_tcp_url (const char *url, const char *rest, struct nbd_location *loc)
{
  size_t authority_len = strcspn (rest, "/?#");

  if (strpbrk (rest, "?#")) {
    error_set (EINVAL, "url: nbd URL must not have a query: \"%s\"", url);
    return -1;
  }
  if (parse_host_port (url, rest, authority_len, false, loc) == -1)
    return -1;
  if (rest[authority_len] == '/') {
    const char *export = rest + authority_len + 1;

    loc->export_name = descriptor_url_decode (url, export, strlen (export));
  }
  else
    loc->export_name = strdup ("");
  return loc->export_name ? 0 : -1;
}

/* The qemu forms: nbd:unix:/path[:exportname=NAME] and
 * nbd:HOST:PORT[:exportname=NAME]. */
static int
parse_nbd_qemu (const char *url, const char *rest, struct nbd_location *loc)
{
  const char *export = strstr (rest, ":exportname=");
  size_t len = export ? (size_t) (export - rest) : strlen (rest);

  loc->export_name = strdup (export ? export + 12 : "");
  if (loc->export_name == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  if (strncmp (rest, "unix:", 5) == 0) {
    if (rest[5] != '/') {
      error_set (EINVAL, "url: nbd:unix: needs an absolute socket path: "
                 "\"%s\"", url);
      return -1;
    }
    loc->socket = copy_n (rest + 5, len - 5);
    return loc->socket ? 0 : -1;
  }
  return parse_host_port (url, rest, len, true, loc);
}

static int
nbd_parse_url (const char *url, void *location)
{
  int r;

  if (strncmp (url, "nbd+unix://", 11) == 0)
    r = parse_nbd_unix_url (url, url + 11, location);
  else if (strncmp (url, "nbd://", 6) == 0)
    r = parse_nbd_tcp_url (url, url + 6, location);
  else if (strncmp (url, "nbd:", 4) == 0)
    r = parse_nbd_qemu (url, url + 4, location);
  else
    return 0;
  return r == -1 ? -1 : 1;
}

/* "port": a string of digits or an integer, 1-65535; kept as a string,
 * which is what libnbd takes. */
static int
parse_port (json_object *v, const char *name, void *out)
{
  char buf[24];
  const char *s, *digits;
  size_t len;

  if (json_object_is_type (v, json_type_int)) {
    snprintf (buf, sizeof buf, "%" PRId64, json_object_get_int64 (v));
    s = buf;
  }
  else if (json_object_is_type (v, json_type_string)) {
    if ((s = json_string_value (v, name)) == NULL)
      return -1;
  }
  else {
    error_set (EINVAL, "%s: must be a port number", name);
    return -1;
  }
  len = strlen (s);
  if ((digits = port_digits (s, &len)) == NULL) {
    error_set (EINVAL, "%s: must be a port number 1-65535, not \"%s\"", name,
               s);
    return -1;
  }
  return descriptor_store_string (digits, out);
}

/* "host": a host name (RFC 1123) or an IPv4 or IPv6 address, nothing
 * else (backend-nbd-host.c says why).  The value is not repeated in the
 * message: it may hold control characters. */
static int
parse_host (json_object *v, const char *name, void *out)
{
  char **host = out;
  const char *why = NULL;

  if (descriptor_nonempty_string.parse (v, name, out) == -1)
    return -1;
  if (!nbd_host_valid (*host, strlen (*host), true, &why)) {
    error_set (EINVAL, "%s: must be a host name or an IP address; this "
               "one has %s", name, why);
    free (*host);
    *host = NULL;
    return -1;
  }
  return 0;
}

static const struct descriptor_type descriptor_host = {
  parse_host, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};

static const struct descriptor_type descriptor_port = {
  parse_port, descriptor_string_to_json, descriptor_string_format,
  descriptor_string_release,
};

#define LOCATION(field) offsetof (struct nbd_location, field)
#define ALWAYS DESCRIPTOR_ALWAYS

static const struct descriptor_field nbd_fields[] = {
  { "socket", NULL, &descriptor_absolute_path, LOCATION (socket), ALWAYS,
    DESCRIPTOR_LOCATION | DESCRIPTOR_SELECTS_BACKEND },
  { "host", NULL, &descriptor_host, LOCATION (host), ALWAYS,
    DESCRIPTOR_LOCATION | DESCRIPTOR_SELECTS_BACKEND },
  { "port", NULL, &descriptor_port, LOCATION (port), ALWAYS,
    DESCRIPTOR_LOCATION },
  { "export", NULL, &descriptor_string, LOCATION (export_name), ALWAYS,
    DESCRIPTOR_LOCATION },
  { "export_bitmap", NULL, &descriptor_nonempty_string,
    LOCATION (export_bitmap), ALWAYS, 0 },
  { .name = NULL },
};

static int
nbd_check (void *location)
{
  struct nbd_location *loc = location;

  if (loc->socket && loc->host) {
    error_set (EINVAL, "socket and host: give only one");
    return -1;
  }
  if (loc->socket == NULL && loc->host == NULL) {
    error_set (EINVAL, "socket: required for the nbd backend (or a url)");
    return -1;
  }
  if (loc->socket && loc->port) {
    error_set (EINVAL, "port: only valid with host");
    return -1;
  }
  if ((loc->host && loc->port == NULL
       && (loc->port = strdup (NBD_DEFAULT_PORT)) == NULL)
      || (loc->export_name == NULL
          && (loc->export_name = strdup ("")) == NULL)) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

const struct backend_type backend_type_nbd = {
  .name = "nbd",
  .ops = &backend_nbd_ops,
  .location_size = sizeof (struct nbd_location),
  .fields = nbd_fields,
  .url_forms = "nbd://, nbd+unix:// or nbd:",
  .parse_url = nbd_parse_url,
  .check = nbd_check,
};
