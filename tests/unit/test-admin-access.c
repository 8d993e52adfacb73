/* SPDX-License-Identifier: Apache-2.0 */
/* Who may use the administrator's routes (fcgi/admin-access.c): the
 * Host and Origin authorities accepted over TCP (loopback names only,
 * with an optional port, nothing that merely starts like one: DNS
 * rebinding), and what the FastCGI peer may claim: the administrator's
 * mark only on a unix FastCGI socket, a loopback client (admin_tcp =
 * loopback) only from a web server on this machine. */
#include <config.h>

#include <string.h>

#include "admin-access.h"
#include "tap.h"

static const struct {
  const char *authority;
  bool local;
} authority_tests[] = {
  { "localhost", true },
  { "LOCALHOST", true },
  { "localhost:54323", true },
  { "127.0.0.1", true },
  { "127.0.0.1:1", true },
  { "127.0.0.1:65535", true },
  { "[::1]", true },
  { "[::1]:8080", true },
  { "", false },
  { "localhost:", false },
  { "localhost:80x", false },
  { "localhost:123456", false },
  { "localhost.evil.example", false },
  { "localhost.", false },
  { "127.0.0.1.evil.example", false },
  { "127.0.0.1.nip.io:80", false },
  { "127.0.0.2", false },
  { "127.1", false },
  { "::1", false },
  { "[::1].evil.example", false },
  { "evil.example", false },
  { "localhost@evil.example", false },
  { "xlocalhost", false },
};

static char *const marked[] = {
  "REQUEST_URI=/api/v2/transfers", "IMAGEXFER_LISTENER=admin",
  "REMOTE_ADDR=192.0.2.7", "HTTP_HOST=imagexfer.example", NULL
};
static char *const local_client[] = {
  "REQUEST_URI=/api/v2/transfers", "REMOTE_ADDR=127.0.0.1",
  "HTTP_HOST=localhost:54323", NULL
};
static char *const marked_local_client[] = {
  "REQUEST_URI=/api/v2/transfers", "IMAGEXFER_LISTENER=admin",
  "REMOTE_ADDR=127.0.0.1", "HTTP_HOST=localhost", NULL
};

static const struct {
  char *const *params;
  enum fastcgi_peer peer;
  enum config_admin_tcp admin_tcp;
  bool allowed;
  const char *reason;           /* a part of it, when refused */
} access_tests[] = {
  { marked, FASTCGI_PEER_UNIX, CONFIG_ADMIN_TCP_NO, true, NULL },
  { marked, FASTCGI_PEER_TCP_LOCAL, CONFIG_ADMIN_TCP_NO, false,
    "must reach imagexfer over a unix FastCGI socket, not TCP" },
  /* Over TCP the mark counts for nothing, in either direction. */
  { marked, FASTCGI_PEER_TCP_LOCAL, CONFIG_ADMIN_TCP_LOOPBACK, false,
    "answers loopback clients only" },
  { marked, FASTCGI_PEER_TCP_REMOTE, CONFIG_ADMIN_TCP_LOOPBACK, false,
    "the FastCGI connection came from another host" },
  /* Before, the mark over TCP was refused even where the same request
   * without it was answered. */
  { marked_local_client, FASTCGI_PEER_TCP_LOCAL, CONFIG_ADMIN_TCP_LOOPBACK,
    true, NULL },
  { local_client, FASTCGI_PEER_UNIX, CONFIG_ADMIN_TCP_NO, false,
    "served on the administrator's socket only" },
  { local_client, FASTCGI_PEER_UNIX, CONFIG_ADMIN_TCP_LOOPBACK, true, NULL },
  { local_client, FASTCGI_PEER_TCP_LOCAL, CONFIG_ADMIN_TCP_LOOPBACK, true,
    NULL },
  { local_client, FASTCGI_PEER_TCP_REMOTE, CONFIG_ADMIN_TCP_LOOPBACK, false,
    "the FastCGI connection came from another host" },
};

static const char *const peer_names[] = { "unix", "TCP local", "TCP remote" };

static void
test_access (void)
{
  for (size_t i = 0; i < sizeof access_tests / sizeof access_tests[0]; i++) {
    struct request req;
    struct config cfg;
    char reason[256] = "", path[] = "/api/v2/transfers";
    bool allowed;

    memset (&req, 0, sizeof req);
    req.fcgx.envp = (char **) access_tests[i].params;
    req.path = path;
    req.fastcgi_peer = access_tests[i].peer;
    config_defaults (&cfg);
    cfg.admin_tcp = access_tests[i].admin_tcp;
    allowed = admin_access_allowed (&req, &cfg, reason, sizeof reason);
    tap_ok (allowed == access_tests[i].allowed
            && (allowed || strstr (reason, access_tests[i].reason) != NULL),
            "%s, %s FastCGI peer, admin_tcp %s: %s%s",
            access_tests[i].params == marked ? "the administrator's mark"
            : access_tests[i].params == local_client ? "a loopback client"
            : "a loopback client with the mark",
            peer_names[access_tests[i].peer],
            access_tests[i].admin_tcp == CONFIG_ADMIN_TCP_LOOPBACK
              ? "loopback" : "no",
            allowed ? "allowed" : "refused: ", allowed ? "" : reason);
    config_free (&cfg);
  }
}

int
main (void)
{
  for (size_t i = 0; i < sizeof authority_tests / sizeof authority_tests[0];
       i++)
    tap_ok (admin_authority_is_local (authority_tests[i].authority)
              == authority_tests[i].local,
            "admin_authority_is_local (\"%s\") is %s",
            authority_tests[i].authority,
            authority_tests[i].local ? "true" : "false");
  test_access ();
  return tap_done ();
}
