/* SPDX-License-Identifier: Apache-2.0 */
/* Access to the administrator's routes; see admin-access.h. */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin-access.h"

bool
admin_authority_is_local (const char *authority)
{
  static const char *const names[] = { "localhost", "127.0.0.1", "[::1]" };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t len = strlen (names[i]);
    const char *port = authority + len;

    if (strncasecmp (authority, names[i], len) != 0)
      continue;
    if (*port == '\0')
      return true;
    /* ":" and 1-5 digits, nothing else ("localhost.evil.example" and
     * "127.0.0.1.evil.example" are other hosts). */
    if (*port == ':' && port[1] != '\0'
        && strspn (port + 1, "0123456789") == strlen (port + 1)
        && strlen (port + 1) <= 5)
      return true;
  }
  return false;
}

/* The peer's address as the web server reports it.  Only exactly
 * 127.0.0.1 and ::1: the rest of 127.0.0.0/8 can be another local
 * service's address (and Apache's "Require local" admits all of it). */
static bool
peer_is_loopback (const char *addr)
{
  return addr != NULL
    && (strcmp (addr, "127.0.0.1") == 0 || strcmp (addr, "::1") == 0
        || strcasecmp (addr, "::ffff:127.0.0.1") == 0);
}

/* An Origin of the machine's own loopback pages: scheme, "://", a local
 * authority. */
static bool
origin_is_local (const char *origin)
{
  const char *authority = strstr (origin, "://");

  if (authority == NULL)
    return false;
  if (!(authority - origin == 4 && strncasecmp (origin, "http", 4) == 0)
      && !(authority - origin == 5 && strncasecmp (origin, "https", 5) == 0))
    return false;
  return admin_authority_is_local (authority + 3);
}

bool
admin_access_allowed (struct request *req, const struct config *cfg,
                      char *reason, size_t reason_size)
{
  const char *listener = request_param (req, ADMIN_LISTENER_PARAM);
  bool marked = listener && strcmp (listener, ADMIN_LISTENER_VALUE) == 0;
  const char *host, *origin;

  /* Over TCP the mark is not believed: the request is judged as if it
   * had none (admin_tcp below), and only the reason says why. */
  if (marked && req->fastcgi_peer == FASTCGI_PEER_UNIX)
    return true;
  if (cfg->admin_tcp != CONFIG_ADMIN_TCP_LOOPBACK) {
    if (marked)
      snprintf (reason, reason_size, "%s: the administrator's socket must "
                "reach imagexfer over a unix FastCGI socket, not TCP",
                req->path);
    else
      snprintf (reason, reason_size, "%s is served on the administrator's "
                "socket only", req->path);
    return false;
  }
  /* REMOTE_ADDR is what the FastCGI peer says.  One on this machine
   * could only claim what any local account gets by asking the web
   * server on loopback; another host could claim anything. */
  if (req->fastcgi_peer == FASTCGI_PEER_TCP_REMOTE) {
    snprintf (reason, reason_size, "%s: the FastCGI connection came from "
              "another host, which may claim any client address",
              req->path);
    return false;
  }
  if (!peer_is_loopback (request_param (req, "REMOTE_ADDR"))) {
    snprintf (reason, reason_size, "%s answers loopback clients only",
              req->path);
    return false;
  }
  host = request_header (req, "Host");
  if (host == NULL || !admin_authority_is_local (host)) {
    snprintf (reason, reason_size, "%s answers only a Host of localhost, "
              "127.0.0.1 or [::1]", req->path);
    return false;
  }
  origin = request_header (req, "Origin");
  if (origin != NULL && !origin_is_local (origin)) {
    snprintf (reason, reason_size, "%s answers no web page of another "
              "origin", req->path);
    return false;
  }
  return true;
}
