/* SPDX-License-Identifier: Apache-2.0 */
/* Accepting the web server's connections; see fastcgi-accept.h. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "error.h"
#include "fastcgi-accept.h"
#include "log.h"

static int
parse_web_server (const char *text, struct fastcgi_peer_address *address)
{
  memset (address, 0, sizeof *address);
  if (inet_pton (AF_INET, text, address->bytes) == 1)
    address->family = AF_INET;
  else if (inet_pton (AF_INET6, text, address->bytes) == 1)
    address->family = AF_INET6;
  else
    return -1;
  return 0;
}

static int
parse_web_servers (struct fastcgi_listener *listener, const char *list)
{
  char *copy = strdup (list), *item, *save = NULL;
  int r = 0;

  if (copy == NULL) {
    error_set (ENOMEM, "FCGI_WEB_SERVER_ADDRS: out of memory");
    return -1;
  }
  for (item = strtok_r (copy, ", ", &save); item != NULL && r == 0;
       item = strtok_r (NULL, ", ", &save)) {
    if (listener->web_server_count == FASTCGI_MAX_WEB_SERVERS) {
      error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS: more than %d addresses",
                 FASTCGI_MAX_WEB_SERVERS);
      r = -1;
    }
    else if (parse_web_server (item,
               &listener->web_servers[listener->web_server_count]) == -1) {
      error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS: \"%s\" is not an IPv4 or "
                 "IPv6 address", item);
      r = -1;
    }
    else
      listener->web_server_count++;
  }
  free (copy);
  /* Set but naming nobody: allowing everyone would be the surprise. */
  if (r == 0 && listener->web_server_count == 0) {
    error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS is set but lists no address");
    r = -1;
  }
  return r;
}

int
fastcgi_listener_init (struct fastcgi_listener *listener, int fd)
{
  struct sockaddr_storage address;
  socklen_t len = sizeof address;
  const char *list = getenv ("FCGI_WEB_SERVER_ADDRS");

  memset (listener, 0, sizeof *listener);
  listener->fd = fd;
  if (getsockname (fd, (struct sockaddr *) &address, &len) == -1) {
    error_set (errno, "the FastCGI socket: %m");
    return -1;
  }
  listener->tcp = address.ss_family != AF_UNIX;
  if (listener->tcp && list != NULL)
    return parse_web_servers (listener, list);
  return 0;
}

/* An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d and is
 * compared as a.b.c.d. */
static bool
peer_allowed (const struct fastcgi_listener *listener,
              const struct sockaddr_storage *peer)
{
  static const unsigned char v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
  struct fastcgi_peer_address address = { .family = peer->ss_family };

  if (listener->web_server_count == 0)
    return true;
  if (peer->ss_family == AF_INET)
    memcpy (address.bytes, &((const struct sockaddr_in *) peer)->sin_addr, 4);
  else if (peer->ss_family == AF_INET6) {
    const unsigned char *bytes =
      ((const struct sockaddr_in6 *) peer)->sin6_addr.s6_addr;

    if (memcmp (bytes, v4_mapped, sizeof v4_mapped) == 0) {
      address.family = AF_INET;
      memcpy (address.bytes, bytes + 12, 4);
    }
    else
      memcpy (address.bytes, bytes, 16);
  }
  else
    return false;
  for (size_t i = 0; i < listener->web_server_count; i++)
    if (listener->web_servers[i].family == address.family
        && memcmp (listener->web_servers[i].bytes, address.bytes, 16) == 0)
      return true;
  return false;
}

/* A connection that failed before we took it, or that the network lost:
 * none was accepted, the socket is fine (as libfcgi counts them). */
static bool
accept_error_is_transient (int err)
{
  switch (err) {
  case EAGAIN:
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
  case EINTR:
  case ECONNABORTED:
  case EPROTO:
  case ENETDOWN:
  case ENOPROTOOPT:
  case EHOSTDOWN:
  case ENONET:
  case EHOSTUNREACH:
  case EOPNOTSUPP:
  case ENETUNREACH:
    return true;
  default:
    return false;
  }
}

/* A client that stops sending its body, or stops reading the response
 * (the web server then stops reading from us), would hold this worker
 * for as long as the web server's own idle limit (lighttpd: 600 s), and
 * a few such clients every worker.  With these timeouts a read or write
 * that makes no progress for stall_seconds fails (EAGAIN), the request
 * ends as a failed one, and the worker is free; what was written before
 * stays written.  Set on every connection: a unix socket's do not come
 * from the listening socket. */
static void
limit_stalls (int fd, unsigned seconds)
{
  struct timeval tv = { .tv_sec = (time_t) seconds };

  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1
      || setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
    log_warning ("worker: cannot limit stalled clients: %m");
}

int
fastcgi_accept (const struct fastcgi_listener *listener,
                unsigned stall_seconds)
{
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  int fd = accept4 (listener->fd, (struct sockaddr *) &peer, &len,
                    SOCK_CLOEXEC);

  if (fd == -1) {
    if (accept_error_is_transient (errno))
      errno = EAGAIN;
    return -1;
  }
  if (listener->tcp) {
    char name[INET6_ADDRSTRLEN] = "?";
    int on = 1;

    if (!peer_allowed (listener, &peer)) {
      if (peer.ss_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) &peer)->sin_addr,
                   name, sizeof name);
      else if (peer.ss_family == AF_INET6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &peer)->sin6_addr,
                   name, sizeof name);
      log_warning ("worker: FastCGI connection from %s refused: not in "
                   "FCGI_WEB_SERVER_ADDRS", name);
      close (fd);
      errno = EAGAIN;
      return -1;
    }
    /* Records go out whole; Nagle would hold back the last small one. */
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  limit_stalls (fd, stall_seconds);
  return fd;
}

bool
fastcgi_read_request (FCGX_Request *fcgx, int fd)
{
  /* These fields are below fcgiapp.h's "don't use" line; libfcgi has no
   * call that takes a connection accepted elsewhere.  FCGX_Accept_r
   * reads from ipcFd when it is open, after an FCGX_Finish_r that closes
   * it unless keepConnection is set (the begin record then sets it from
   * the web server's flags).  detached makes the close of a connection
   * that brought no request immediate, not libfcgi's lingering close,
   * which reads for as long as the peer keeps sending. */
  fcgx->ipcFd = fd;
  fcgx->keepConnection = 1;
  fcgx->detached = 1;
  if (FCGX_Accept_r (fcgx) < 0)
    return false;
  fcgx->detached = 0;
  return true;
}
