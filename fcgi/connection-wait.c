/* SPDX-License-Identifier: Apache-2.0 */
/* What an idle worker waits on; see connection-wait.h. */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "connection-wait.h"
#include "log.h"

/* Every idle worker waits on the one listening socket; with ppoll (or an
 * epoll set without EPOLLEXCLUSIVE) each new connection woke all of
 * them, all but one got EAGAIN from accept, and on small requests those
 * wake-ups were the workers' main cost (docs/benchmark.md).  With
 * EPOLLEXCLUSIVE one is woken.  EPOLLEXCLUSIVE needs Linux 4.5; without
 * it every worker wakes, as with ppoll. */
static int
watch_exclusively (int epoll_fd, int fd)
{
  struct epoll_event event = {
    .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = fd,
  };

  if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0)
    return 0;
  event.events = EPOLLIN;
  if (errno == EINVAL && epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0)
    return 0;
  return -1;
}

int
connection_wait_init (struct connection_wait *w, int listen_fd,
                      int handoff_fd)
{
  w->listen_fd = listen_fd;
  w->handoff_fd = handoff_fd;
  w->handoffs_left = 0;
  w->kept_fd = -1;
  w->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (w->epoll_fd == -1)
    return -1;
  if (watch_exclusively (w->epoll_fd, listen_fd) == -1) {
    close (w->epoll_fd);
    w->epoll_fd = -1;
    return -1;
  }
  /* Without the hand-off a worker still serves, as before it existed. */
  if (handoff_fd >= 0 && watch_exclusively (w->epoll_fd, handoff_fd) == -1) {
    log_warning ("worker: cannot watch the other workers' wake-ups: %m");
    w->handoff_fd = -1;
  }
  return 0;
}

int
connection_wait (struct connection_wait *w, int timeout_ms,
                 const sigset_t *sigmask)
{
  /* As many as are watched: the listening socket, the eventfd and the
   * kept connection.  One fewer, and a request waiting on the kept
   * connection could go unreported behind the other two, and the worker
   * would let the connection go with the request in it. */
  struct epoll_event events[3];
  int n = epoll_pwait (w->epoll_fd, events, 3, timeout_ms, sigmask);
  int ready = 0;

  w->handoffs_left = 0;

  for (int i = 0; i < n; i++) {
    if (events[i].data.fd == w->listen_fd)
      ready |= CONNECTION_NEW;
    else if (events[i].data.fd == w->handoff_fd) {
      uint64_t count;

      /* Taken (the counter back to zero) by the one worker woken; one
       * that finds the connection gone to another gets EAGAIN. */
      if (read (w->handoff_fd, &count, sizeof count) == sizeof count
          && count > 0) {
        ready |= CONNECTION_NEW;
        w->handoffs_left = count - 1;
      }
    }
    else if (events[i].events & (EPOLLRDHUP | EPOLLHUP))
      ready |= CONNECTION_KEPT | CONNECTION_KEPT_HUP;
    else
      ready |= CONNECTION_KEPT;
  }
  return ready;
}

/* Wake count other idle workers, one after another (see
 * connection_wait_accepted). */
static void
wake_others (struct connection_wait *w, uint64_t count)
{
  if (w->handoff_fd >= 0
      && write (w->handoff_fd, &count, sizeof count) != sizeof count)
    log_warning ("worker: cannot wake another worker for a waiting "
                 "connection: %m");
}

void
connection_wait_pass_on (struct connection_wait *w)
{
  /* With any wake-ups passed on to this one and not yet passed on. */
  wake_others (w, 1 + w->handoffs_left);
  w->handoffs_left = 0;
}

void
connection_wait_accepted (struct connection_wait *w)
{
  if (w->handoffs_left > 0)
    wake_others (w, w->handoffs_left);
  w->handoffs_left = 0;
}

int
connection_wait_keep (struct connection_wait *w, int fd)
{
  struct epoll_event event = {
    /* EPOLLIN wakes for a request and for the end; EPOLLRDHUP says
     * which it may be (CONNECTION_KEPT_HUP). */
    .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd,
  };

  if (fd >= 0 && fd == w->kept_fd)
    return 0;                   /* the same connection, still watched */
  /* A connection closed left the epoll set with its close, whatever
   * number a new one gets. */
  w->kept_fd = -1;
  if (fd < 0)
    return 0;
  if (epoll_ctl (w->epoll_fd, EPOLL_CTL_ADD, fd, &event) == -1
      && (errno != EEXIST
          || epoll_ctl (w->epoll_fd, EPOLL_CTL_MOD, fd, &event) == -1))
    return -1;
  w->kept_fd = fd;
  return 0;
}

void
connection_wait_forget_kept (struct connection_wait *w)
{
  w->kept_fd = -1;
}

void
connection_wait_close (struct connection_wait *w)
{
  if (w->epoll_fd >= 0)
    close (w->epoll_fd);
  w->epoll_fd = -1;
  w->kept_fd = -1;
}
