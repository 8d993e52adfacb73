/* SPDX-License-Identifier: Apache-2.0 */
/* What an idle worker waits on (fcgi/connection-wait.c), with real
 * sockets and processes: a new connection, a request on the kept
 * connection and its end are told apart; a worker passing a wake-up on
 * wakes exactly one other idle worker, with no connection pending, as
 * when the listening socket's wake-up came to a worker that then took a
 * request on its kept connection instead. */
#include <config.h>

#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connection-wait.h"
#include "monotonic.h"
#include "tap.h"
#include "unix-listener.h"

/* A worker of its own: waits once (up to wait_ms) and reports what it
 * found, and how long that took, on report. */
static pid_t
idle_worker (int listen_fd, int handoff_fd, int wait_ms, int report)
{
  pid_t pid = fork ();

  if (pid == 0) {
    struct connection_wait w;
    int64_t start = monotonic_ms ();
    int result[2] = { -1, 0 };

    if (connection_wait_init (&w, listen_fd, handoff_fd) == 0)
      result[0] = connection_wait (&w, wait_ms, NULL);
    result[1] = (int) (monotonic_ms () - start);
    _exit (write (report, result, sizeof result) == sizeof result ? 0 : 1);
  }
  return pid;
}

static void
test_pass_on (int listen_fd, int handoff_fd)
{
  struct connection_wait self;
  int report[2], first[2] = { -1, 0 }, second[2] = { -1, 0 };
  pid_t a, b;
  const struct timespec settle = { .tv_nsec = 200 * 1000 * 1000 };

  if (pipe (report) == -1 || connection_wait_init (&self, listen_fd,
                                                   handoff_fd) == -1) {
    tap_ok (false, "pass on: set up");
    return;
  }
  a = idle_worker (listen_fd, handoff_fd, 3000, report[1]);
  b = idle_worker (listen_fd, handoff_fd, 3000, report[1]);
  /* Only the children write: a read then ends when both have. */
  close (report[1]);
  if (a == -1 || b == -1) {
    tap_ok (false, "pass on: fork: %m");
    return;
  }
  nanosleep (&settle, NULL);      /* both are waiting */
  connection_wait_pass_on (&self);
  bool got_first = read (report[0], first, sizeof first) == sizeof first;
  tap_ok (got_first && first[0] == CONNECTION_NEW && first[1] < 1500,
          "pass on: one idle worker wakes at once for a new connection "
          "(found %d after %d ms)", first[0], first[1]);
  bool got_second = read (report[0], second, sizeof second) == sizeof second;
  tap_ok (got_second && second[0] == 0 && second[1] >= 2500,
          "pass on: the other sleeps on (found %d after %d ms)",
          second[0], second[1]);
  waitpid (a, NULL, 0);
  waitpid (b, NULL, 0);
  close (report[0]);
  connection_wait_close (&self);
}

static void
test_kept (int listen_fd, int handoff_fd)
{
  struct connection_wait w;
  int pair[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1
      || connection_wait_init (&w, listen_fd, handoff_fd) == -1) {
    tap_ok (false, "kept: set up");
    return;
  }
  tap_ok (connection_wait (&w, 0, NULL) == 0, "kept: nothing ready");
  tap_ok (connection_wait_keep (&w, pair[0]) == 0, "kept: watched");
  tap_ok (connection_wait (&w, 0, NULL) == 0,
          "kept: an idle kept connection is not ready");
  tap_ok (connection_wait_keep (&w, pair[0]) == 0,
          "kept: watching it again is a no-op");
  tap_ok (write (pair[1], "r", 1) == 1
          && connection_wait (&w, 1000, NULL) == CONNECTION_KEPT,
          "kept: a request on it is ready, without the end");
  tap_ok (shutdown (pair[1], SHUT_WR) == 0
          && connection_wait (&w, 1000, NULL)
             == (CONNECTION_KEPT | CONNECTION_KEPT_HUP),
          "kept: the web server closing its side says so");
  close (pair[0]);
  connection_wait_keep (&w, -1);
  tap_ok (connection_wait (&w, 0, NULL) == 0,
          "kept: closed, it is no longer watched");
  close (pair[1]);
  connection_wait_close (&w);
}

/* Two wake-ups passed on before either was read are one count: the
 * worker that takes them passes the rest on once it has a connection. */
static void
test_merged (int listen_fd, int handoff_fd)
{
  struct connection_wait self, first, second;

  if (connection_wait_init (&self, listen_fd, handoff_fd) == -1
      || connection_wait_init (&first, listen_fd, handoff_fd) == -1
      || connection_wait_init (&second, listen_fd, handoff_fd) == -1) {
    tap_ok (false, "merged: set up");
    return;
  }
  connection_wait_pass_on (&self);
  connection_wait_pass_on (&self);
  tap_ok (connection_wait (&first, 0, NULL) == CONNECTION_NEW
          && first.handoffs_left == 1,
          "merged: the first takes both, one left to pass on");
  tap_ok (connection_wait (&second, 0, NULL) == 0,
          "merged: nothing for the second yet");
  connection_wait_accepted (&first);
  tap_ok (connection_wait (&second, 0, NULL) == CONNECTION_NEW
          && second.handoffs_left == 0,
          "merged: once the first accepted, the second is woken");
  connection_wait_accepted (&second);
  tap_ok (connection_wait (&first, 0, NULL) == 0,
          "merged: and the chain ends there");
  connection_wait_close (&self);
  connection_wait_close (&first);
  connection_wait_close (&second);
}

/* The listening socket, the eventfd and the kept connection all ready
 * at once, the kept one last: all are reported, or the worker would let
 * the kept connection go with a request in it. */
static void
test_all_three (const struct unix_listener *l, int handoff_fd)
{
  struct connection_wait w;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int pair[2], client, ready;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1
      || connection_wait_init (&w, l->fd, handoff_fd) == -1
      || connection_wait_keep (&w, pair[0]) == -1) {
    tap_ok (false, "all three: set up");
    return;
  }
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", l->path);
  client = socket (AF_UNIX, SOCK_STREAM, 0);
  if (connect (client, (struct sockaddr *) &addr, sizeof addr) == -1)
    tap_ok (false, "all three: connect: %m");
  connection_wait_pass_on (&w);
  if (write (pair[1], "r", 1) != 1)
    tap_ok (false, "all three: write: %m");
  ready = connection_wait (&w, 0, NULL);
  tap_ok (ready == (CONNECTION_NEW | CONNECTION_KEPT),
          "all three: a new connection and the kept one's request (got %d)",
          ready);
  close (client);
  close (accept (l->fd, NULL, NULL));
  close (pair[0]);
  close (pair[1]);
  connection_wait_close (&w);
}

int
main (void)
{
  struct unix_listener l;
  int handoff_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct connection_wait w;
  int client;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  unix_listener_open (&l, SOCK_STREAM, "test-connection-wait");
  if (handoff_fd == -1 || connection_wait_init (&w, l.fd, handoff_fd) == -1) {
    tap_ok (false, "set up: eventfd and epoll");
    return tap_done ();
  }
  tap_ok (connection_wait (&w, 0, NULL) == 0, "new: nothing ready");
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", l.path);
  client = socket (AF_UNIX, SOCK_STREAM, 0);
  tap_ok (connect (client, (struct sockaddr *) &addr, sizeof addr) == 0
          && connection_wait (&w, 1000, NULL) == CONNECTION_NEW,
          "new: a connection to accept is ready");
  close (client);
  /* Its end leaves nothing on the listening socket to accept. */
  close (accept (l.fd, NULL, NULL));
  connection_wait_close (&w);

  test_pass_on (l.fd, handoff_fd);
  test_kept (l.fd, handoff_fd);
  test_merged (l.fd, handoff_fd);
  test_all_three (&l, handoff_fd);

  close (handoff_fd);
  unix_listener_close (&l);
  return tap_done ();
}
