/* SPDX-License-Identifier: Apache-2.0 */
/* Accepting the web server's FastCGI connections, in the worker rather
 * than in libfcgi.
 *
 * libfcgi's accept reads the request's first records with no time limit:
 * a peer that connects and sends nothing (TCP), or one byte (a unix
 * socket, after libfcgi's 2 s wait for a first byte), held a worker for
 * as long as it kept the connection open, and a few such peers every
 * worker.  Here the stall limits (client_timeout) are on the connection
 * before a byte of it is read, and libfcgi is given the accepted
 * connection only to read the request's parameters.
 *
 * The limits are per read: a peer that trickles a byte at a time, or
 * sends parameters without end, is still served for as long as it
 * keeps sending.  Only the web server should be able to connect.
 *
 * Whoever can connect to the FastCGI socket speaks as the web server:
 * every parameter, the client's address included, is theirs to choose.
 * A unix socket's permissions limit that to the web server's group; a
 * TCP socket admits every local account (and every host that can reach
 * it), so FCGI_WEB_SERVER_ADDRS is honoured (as libfcgi did, and for
 * IPv6 too), and admin-access.h believes less of what a TCP peer says.
 */
#ifndef IMAGEXFER_FASTCGI_ACCEPT_H
#define IMAGEXFER_FASTCGI_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "fastcgi-peers.h"

/* Who is at the other end of a FastCGI connection. */
enum fastcgi_peer {
  FASTCGI_PEER_UNIX,            /* the web server's group (the socket's mode) */
  FASTCGI_PEER_TCP_LOCAL,       /* TCP from this machine: any local account */
  FASTCGI_PEER_TCP_REMOTE,      /* TCP from another host */
};

struct fastcgi_listener {
  int fd;
  bool tcp;                     /* not a unix socket */
  /* TCP peers served (FCGI_WEB_SERVER_ADDRS); none listed: any. */
  struct fastcgi_peers web_servers;
};

/* Learn the socket's family and, for TCP, read FCGI_WEB_SERVER_ADDRS
 * (fastcgi-peers.h).  Returns 0, or -1 with
 * error_set when the socket cannot be asked or the list is not one. */
int fastcgi_listener_init (struct fastcgi_listener *listener, int fd);

/* Accept one connection from an allowed peer, with reads and writes that
 * fail after stall_seconds without progress; *peer says who it is.
 * Returns the connection, or -1 with errno: EAGAIN when none is waiting
 * (a connection from a peer not allowed, or one gone before it was
 * accepted, counts as none and is closed), another errno when the
 * socket is broken. */
int fastcgi_accept (const struct fastcgi_listener *listener,
                    unsigned stall_seconds, enum fastcgi_peer *peer);

/* Have libfcgi read a request on connection fd (FCGX_Accept_r), which
 * it then owns: a new connection, or one the web server kept
 * (FCGI_KEEP_CONN) for its next request.  fcgx was set up with
 * FCGX_InitRequest on no listening socket (-1), so that libfcgi never
 * accepts one itself.  Returns true with the request's parameters read;
 * false when the connection brought no request (closed, timed out,
 * malformed) and libfcgi closed it. */
bool fastcgi_read_request (FCGX_Request *fcgx, int fd);

/* The connection the web server asked to keep after the request just
 * finished (FCGX_Finish_r left it open), or -1. */
int fastcgi_kept_connection (const FCGX_Request *fcgx);

/* Close the kept connection, if any: it is idle, and nothing of it is
 * left to read or to linger for. */
void fastcgi_release_kept (FCGX_Request *fcgx);

/* Whether the web server, having closed its side of the kept connection,
 * left nothing on it to read: then there is no request to read, and it
 * is closed (fastcgi_release_kept) without asking libfcgi, which would
 * read the end and then try to accept on no socket. */
bool fastcgi_kept_ended (const FCGX_Request *fcgx);

#endif
