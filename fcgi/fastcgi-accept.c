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
#include "log-limited.h"

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
    return fastcgi_peers_parse (&listener->web_servers, list);
  return 0;
}

/* A connection that failed before we took it, or that the network lost:
 * none was accepted, the socket is fine (libfcgi's list, and the
 * pending network errors of accept(2)). */
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
  case ECONNRESET:
  case ETIMEDOUT:
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

static struct log_limit refused_peers = LOG_LIMIT_INIT (10);

/* A TCP connection just accepted: who it is from, or false when that
 * peer is not to be served (the connection is then closed). */
static bool
tcp_peer_admitted (const struct fastcgi_listener *listener, int fd,
                   const struct sockaddr_storage *peer,
                   enum fastcgi_peer *kind)
{
  struct fastcgi_peer_address address;
  char name[INET6_ADDRSTRLEN] = "?";
  int on = 1;

  if (fastcgi_peer_address_of (peer, &address)
      && fastcgi_peers_allow (&listener->web_servers, &address)) {
    *kind = fastcgi_peer_is_loopback (&address) ? FASTCGI_PEER_TCP_LOCAL
                                                : FASTCGI_PEER_TCP_REMOTE;
    /* Records go out whole; Nagle would hold back the last small one. */
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return true;
  }
  inet_ntop (address.family == AF_INET ? AF_INET : AF_INET6, address.bytes,
             name, sizeof name);
  /* A peer that reconnects in a loop must not fill the log. */
  log_warning_limited (&refused_peers, "worker: FastCGI connection from %s "
                       "refused: not in FCGI_WEB_SERVER_ADDRS", name);
  close (fd);
  return false;
}

int
fastcgi_accept (const struct fastcgi_listener *listener,
                unsigned stall_seconds, enum fastcgi_peer *peer)
{
  struct sockaddr_storage address;
  socklen_t len = sizeof address;
  int fd = accept4 (listener->fd, (struct sockaddr *) &address, &len,
                    SOCK_CLOEXEC);

  if (fd == -1) {
    if (accept_error_is_transient (errno))
      errno = EAGAIN;
    return -1;
  }
  /* *peer is what the caller trusts the next requests with, including
   * those on a connection it still keeps: it changes only when a new
   * connection is admitted, never for one refused. */
  enum fastcgi_peer kind = FASTCGI_PEER_UNIX;

  if (listener->tcp && !tcp_peer_admitted (listener, fd, &address, &kind)) {
    errno = EAGAIN;
    return -1;
  }
  limit_stalls (fd, stall_seconds);
  *peer = kind;
  return fd;
}

bool
fastcgi_read_request (FCGX_Request *fcgx, int fd)
{
  /* ipcFd and keepConnection are below fcgiapp.h's "don't use" line;
   * libfcgi has no call that takes a connection accepted elsewhere.
   * FCGX_Accept_r reads from ipcFd when it is open, after an
   * FCGX_Finish_r that closes it unless keepConnection is set (the begin
   * record then sets it from the web server's flags).  Detached, a
   * connection that brings no request is closed at once, not with
   * libfcgi's lingering close, which reads for as long as the peer keeps
   * sending; a request's own end is closed as before (attached). */
  fcgx->ipcFd = fd;
  fcgx->keepConnection = 1;
  FCGX_Detach (fcgx);
  if (FCGX_Accept_r (fcgx) < 0)
    return false;
  FCGX_Attach (fcgx);
  return true;
}

int
fastcgi_kept_connection (const FCGX_Request *fcgx)
{
  return fcgx->ipcFd;
}

void
fastcgi_release_kept (FCGX_Request *fcgx)
{
  if (fcgx->ipcFd >= 0)
    close (fcgx->ipcFd);
  fcgx->ipcFd = -1;
}

bool
fastcgi_kept_ended (const FCGX_Request *fcgx)
{
  char byte;

  return fcgx->ipcFd >= 0
         && recv (fcgx->ipcFd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}
