/* The "url" field of a descriptor: where the image lives.
 *
 * Two families of syntax reach us: RFC 3986 style URIs (file://,
 * nbd://, nbd+unix:// as in the NBD URI specification) and the older
 * qemu style strings oVirt ImageIO puts in its tickets
 * (nbd:unix:/path:exportname=NAME, nbd:HOST:PORT:exportname=NAME).
 * Percent-escapes are decoded in the URI forms only; the qemu forms are
 * taken literally, as qemu does.
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "text-parse.h"
#include "transfer.h"

#define DEFAULT_NBD_PORT "10809"

/* The location fields a url sets, filled in before touching t so that
 * a bad url leaves t as it was. */
struct location {
  enum backend_type backend;
  char *path;
  char *socket;
  char *host;
  char *port;
  char *export_name;
};

static void
location_free (struct location *loc)
{
  free (loc->path);
  free (loc->socket);
  free (loc->host);
  free (loc->port);
  free (loc->export_name);
}

/* percent_decode, with the error a descriptor's author can act on. */
static char *
url_decode (const char *url, const char *s, size_t len)
{
  char *out = percent_decode (s, len);

  if (out == NULL && errno == ENOMEM)
    error_set (ENOMEM, "out of memory");
  else if (out == NULL)
    error_set (EINVAL, "url: bad percent-escape in \"%s\"", url);
  return out;
}

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

/* A DNS name or IPv4 address; IPv6 literals come without brackets. */
static bool
valid_host (const char *s, size_t len, bool ipv6)
{
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];

    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
      continue;
    if (ipv6 && c == ':')
      continue;
    return false;
  }
  return true;
}

/* HOST or [IPV6] followed by an optional :PORT, from s[0..len). */
static int
parse_host_port (const char *url, const char *s, size_t len, bool port_required,
                 struct location *loc)
{
  const char *host = s, *port = NULL;
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

  if (!valid_host (host, host_len, ipv6)) {
    error_set (EINVAL, "url: bad host in \"%s\"", url);
    return -1;
  }
  if (port == NULL && port_required) {
    error_set (EINVAL, "url: missing port in \"%s\"", url);
    return -1;
  }
  if (port && !valid_port (port, port_len)) {
    error_set (EINVAL, "url: bad port in \"%s\"", url);
    return -1;
  }
  loc->host = copy_n (host, host_len);
  loc->port = port ? copy_n (port, port_len) : strdup (DEFAULT_NBD_PORT);
  if (loc->host == NULL || loc->port == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

/* file:///abs/path (an empty or "localhost" authority). */
static int
parse_file_url (const char *url, const char *rest, struct location *loc)
{
  if (strncmp (rest, "localhost/", 10) == 0)
    rest += 9;
  if (rest[0] != '/') {
    error_set (EINVAL, "url: file URL must be file:///absolute/path: \"%s\"",
               url);
    return -1;
  }
  if (strpbrk (rest, "?#")) {
    error_set (EINVAL, "url: file URL must not have a query: \"%s\"", url);
    return -1;
  }
  loc->backend = BACKEND_TYPE_FILE;
  loc->path = url_decode (url, rest, strlen (rest));
  return loc->path ? 0 : -1;
}

/* nbd+unix:///EXPORT?socket=/path */
static int
parse_nbd_unix_url (const char *url, const char *rest, struct location *loc)
{
  const char *query = strchr (rest, '?');
  const char *p;

  loc->backend = BACKEND_TYPE_NBD;
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
  loc->export_name = url_decode (url, p, (size_t) (query - p));
  if (loc->export_name == NULL)
    return -1;

  for (p = query + 1; *p;) {
    size_t len = strcspn (p, "&");

    if (strncmp (p, "socket=", 7) == 0 && len > 7) {
      free (loc->socket);
      loc->socket = url_decode (url, p + 7, len - 7);
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
parse_nbd_tcp_url (const char *url, const char *rest, struct location *loc)
{
  size_t authority_len = strcspn (rest, "/?#");

  loc->backend = BACKEND_TYPE_NBD;
  if (strpbrk (rest, "?#")) {
    error_set (EINVAL, "url: nbd URL must not have a query: \"%s\"", url);
    return -1;
  }
  if (parse_host_port (url, rest, authority_len, false, loc) == -1)
    return -1;
  if (rest[authority_len] == '/') {
    const char *export = rest + authority_len + 1;

    loc->export_name = url_decode (url, export, strlen (export));
  }
  else
    loc->export_name = strdup ("");
  return loc->export_name ? 0 : -1;
}

/* The qemu forms: nbd:unix:/path[:exportname=NAME] and
 * nbd:HOST:PORT[:exportname=NAME]. */
static int
parse_nbd_qemu (const char *url, const char *rest, struct location *loc)
{
  const char *export = strstr (rest, ":exportname=");
  size_t len = export ? (size_t) (export - rest) : strlen (rest);

  loc->backend = BACKEND_TYPE_NBD;
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

int
transfer_parse_url (const char *url, struct transfer *t)
{
  struct location loc = { .backend = BACKEND_TYPE_FILE };
  int r;

  if (strncmp (url, "file://", 7) == 0)
    r = parse_file_url (url, url + 7, &loc);
  else if (strncmp (url, "nbd+unix://", 11) == 0)
    r = parse_nbd_unix_url (url, url + 11, &loc);
  else if (strncmp (url, "nbd://", 6) == 0)
    r = parse_nbd_tcp_url (url, url + 6, &loc);
  else if (strncmp (url, "nbd:", 4) == 0)
    r = parse_nbd_qemu (url, url + 4, &loc);
  else {
    error_set (EINVAL, "url: unsupported scheme in \"%s\" "
               "(file://, nbd://, nbd+unix:// or nbd:)", url);
    r = -1;
  }
  if (r == -1) {
    location_free (&loc);
    return -1;
  }

  free (t->path);
  free (t->socket);
  free (t->host);
  free (t->port);
  free (t->export_name);
  t->backend = loc.backend;
  t->path = loc.path;
  t->socket = loc.socket;
  t->host = loc.host;
  t->port = loc.port;
  t->export_name = loc.export_name;
  return 0;
}
