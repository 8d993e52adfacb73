/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "service-notify.h"

int
service_notify (const char *state)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  size_t path_len;
  socklen_t addr_len;
  int fd, saved_errno;
  ssize_t sent;

  if (path == NULL || path[0] == '\0')
    return 0;
  path_len = strlen (path);
  /* A path, or '@' for a name in the abstract namespace (a leading NUL
   * byte, the rest not NUL-terminated). */
  if ((path[0] != '/' && path[0] != '@') || path_len >= sizeof addr.sun_path) {
    error_set (EINVAL, "NOTIFY_SOCKET: not a socket path: %s", path);
    return -1;
  }
  memcpy (addr.sun_path, path, path_len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + path_len
                          + (path[0] == '/'));

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd == -1) {
    error_set (errno, "NOTIFY_SOCKET: socket: %s", strerror (errno));
    return -1;
  }
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL,
                 (struct sockaddr *) &addr, addr_len);
  saved_errno = errno;
  close (fd);
  if (sent < 0) {
    error_set (saved_errno, "NOTIFY_SOCKET %s: %s", path,
               strerror (saved_errno));
    return -1;
  }
  return 0;
}
