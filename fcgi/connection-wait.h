/* SPDX-License-Identifier: Apache-2.0 */
/* What an idle worker waits on: the listening socket, and the connection
 * the web server asked it to keep (FCGI_KEEP_CONN) for a next request.
 *
 * nginx with an upstream keepalive pool sends the next request on a kept
 * connection whenever it likes.  A worker that waited on the listening
 * socket alone answered it only once some other connection woke it:
 * every second request through such a pool hung.  Here both are
 * watched, and a request on the kept connection is taken first (a new
 * connection ready at the same time is passed on to another idle worker:
 * connection_wait_pass_on).
 *
 * A worker keeps at most one connection, and only while it is idle:
 * once it has accepted a new connection it lets the kept one go, or a
 * request the web server sent on it would wait behind a transfer that
 * may take hours while other workers sit idle.  nginx sends a request
 * without a body again on a new connection when a kept one it picked
 * turns out closed, unless it is a POST or PATCH; any other request it
 * answers 502 (docs/deploy.md).
 */
#ifndef IMAGEXFER_CONNECTION_WAIT_H
#define IMAGEXFER_CONNECTION_WAIT_H

#include <signal.h>
#include <stdint.h>

struct connection_wait {
  int epoll_fd;
  int listen_fd;
  int kept_fd;                  /* watched, or -1 */
  int handoff_fd;               /* the workers' shared eventfd, or -1 */
  uint64_t handoffs_left;       /* wake-ups passed on to this one, beyond
                                 * the one it takes */
};

/* What connection_wait found ready (both may be). */
#define CONNECTION_NEW 1        /* the listening socket (or another worker
                                 * passed its wake-up on): accept one */
#define CONNECTION_KEPT 2       /* the kept connection: a request, or its end */
#define CONNECTION_KEPT_HUP 4   /* ... and the web server closed its side:
                                 * perhaps nothing is left to read */

/* Watch listen_fd (the worker's own epoll set: an epoll set shared
 * across fork is one wait queue entry, and the exclusive wake-up would be
 * lost on it), and handoff_fd, an eventfd shared by the workers (or -1):
 * see connection_wait_pass_on.  Returns 0, or -1 with errno. */
int connection_wait_init (struct connection_wait *w, int listen_fd,
                          int handoff_fd);

/* Wait up to timeout_ms (-1: no limit; 0: only look) with the signal
 * mask sigmask (NULL: as it is).  Returns CONNECTION_NEW and/or
 * CONNECTION_KEPT (with CONNECTION_KEPT_HUP), or 0 when nothing came (a
 * timeout, a signal). */
int connection_wait (struct connection_wait *w, int timeout_ms,
                     const sigset_t *sigmask);

/* A new connection was ready too, but this worker takes the request on
 * its kept connection: wake another idle worker for it.  The wake-up on
 * the listening socket went to this worker alone (EPOLLEXCLUSIVE), and
 * the connection would otherwise wait in the queue until this request
 * ends, however long, or until another one arrives. */
void connection_wait_pass_on (struct connection_wait *w);

/* A connection was accepted after connection_wait said CONNECTION_NEW:
 * wake-ups passed on by several workers before one was read are one
 * count in the eventfd, and are passed on again one at a time, each by
 * a worker that found a connection (one that finds none ends the
 * chain: the queue is empty). */
void connection_wait_accepted (struct connection_wait *w);

/* After a request: fd is the connection the web server kept, or -1 when
 * there is none (closed; epoll forgot it with the close).  Returns 0, or
 * -1 with errno when fd cannot be watched (the caller closes it). */
int connection_wait_keep (struct connection_wait *w, int fd);

/* The kept connection was closed elsewhere (libfcgi, after it brought no
 * request). */
void connection_wait_forget_kept (struct connection_wait *w);

void connection_wait_close (struct connection_wait *w);

#endif
