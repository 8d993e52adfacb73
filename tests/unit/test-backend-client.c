/* SPDX-License-Identifier: Apache-2.0 */
/* backend_client_gone: a connection the peer closed, or shut for
 * writing (lighttpd's tcp-fin-propagate), is gone; one it shut for
 * reading only is not; a backend watches nothing until told; what it saw
 * is forgotten when the watch is set again, and it makes the backend
 * abandoned meanwhile. */
#include <config.h>

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "tap.h"

/* A backend with nothing but the watch: the check needs no ops. */
static struct backend
unwatched_backend (void)
{
  struct backend b;

  memset (&b, 0, sizeof b);
  atomic_init (&b.abandoned, false);
  backend_watch_client (&b, -1);
  return b;
}

static void
test_peer (const char *what, int how, bool want_gone)
{
  struct backend b = unwatched_backend ();
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
    tap_ok (false, "%s: socketpair failed", what);
    return;
  }
  backend_watch_client (&b, fds[0]);
  tap_ok (!backend_client_gone (&b) && !backend_abandoned (&b),
          "%s: not gone while the peer is there", what);
  if (how == -1)
    close (fds[1]);
  else
    shutdown (fds[1], how);
  tap_ok (backend_client_gone (&b) == want_gone
          && backend_abandoned (&b) == want_gone,
          "%s: %s", what, want_gone ? "gone, abandoned" : "not gone");
  backend_watch_client (&b, -1);
  tap_ok (!backend_client_gone (&b) && !backend_abandoned (&b),
          "%s: forgotten once the watch is reset", what);
  close (fds[0]);
  if (how != -1)
    close (fds[1]);
}

int
main (void)
{
  struct backend b = unwatched_backend ();

  tap_ok (!backend_client_gone (&b), "no watch: never gone");
  test_peer ("peer closed", -1, true);
  test_peer ("peer shut both ways", SHUT_RDWR, true);
  test_peer ("peer shut its sending side", SHUT_WR, true);
  test_peer ("peer shut its receiving side", SHUT_RD, false);
  return tap_done ();
}
