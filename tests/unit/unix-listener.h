/* SPDX-License-Identifier: Apache-2.0 */
/* A listening unix socket in a fresh directory under /tmp, for the unit
 * tests that play the web server's side of a FastCGI connection against
 * real libfcgi.  Header-only like tap.h: each test is one program. */
#ifndef IMAGEXFER_UNIX_LISTENER_H
#define IMAGEXFER_UNIX_LISTENER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct unix_listener {
  int fd;
  char path[108];               /* DIR/sock, as sun_path holds it */
};

/* Listen on a socket of type (SOCK_STREAM, SOCK_SEQPACKET) in a new
 * directory named after prefix.  Exits the test on failure: nothing can
 * be tested without it. */
static inline void
unix_listener_open (struct unix_listener *l, int type, const char *prefix)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char dir[64];

  snprintf (dir, sizeof dir, "/tmp/%s.XXXXXX", prefix);
  if (!mkdtemp (dir)) {
    perror ("mkdtemp");
    exit (1);
  }
  snprintf (l->path, sizeof l->path, "%s/sock", dir);
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", l->path);
  l->fd = socket (AF_UNIX, type, 0);
  if (l->fd == -1
      || bind (l->fd, (struct sockaddr *) &addr, sizeof addr) == -1
      || listen (l->fd, 4) == -1) {
    perror ("listen socket");
    exit (1);
  }
}

/* Close it and remove the socket and its directory. */
static inline void
unix_listener_close (struct unix_listener *l)
{
  close (l->fd);
  l->fd = -1;
  unlink (l->path);
  *strrchr (l->path, '/') = '\0';
  rmdir (l->path);
}

#endif
