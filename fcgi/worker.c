/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "admin-access.h"
#include "api.h"
#include "api-response.h"
#include "backend.h"
#include "connection-wait.h"
#include "error.h"
#include "fastcgi-accept.h"
#include "http-status.h"
#include "images.h"
#include "log.h"
#include "monotonic.h"
#include "request.h"
#include "stats.h"
#include "takeover.h"
#include "tickets.h"
#include "transfer.h"
#include "worker.h"

/* How long a draining worker keeps answering queued requests. */
#define WORKER_DRAIN_SECONDS 30
/* How often a worker that keeps finding connections waiting asks for
 * signals that epoll_pwait did not deliver. */
#define WORKER_SIGNAL_CHECK_MS 100

static volatile sig_atomic_t stop_requested, reopen_requested, orphaned;
static volatile sig_atomic_t terminated;

static void
on_terminate (int sig)
{
  if (sig == SIGUSR2)
    orphaned = 1;              /* the supervisor died (takeover.h) */
  else
    terminated = 1;
  stop_requested = 1;
}

static void
on_reopen (int sig)
{
  reopen_requested = 1;
}

/* SIGTERM drains: a request in flight is finished, an idle worker leaves.
 * The signal is blocked except while waiting in epoll_pwait,
 * so it never interrupts a request's reads and writes (libfcgi takes
 * EINTR for a broken connection) and never lands between accepting a
 * connection and serving it.  Returns the mask epoll_pwait waits with. */
static sigset_t
install_signals (void)
{
  struct sigaction sa;
  sigset_t terminate, waiting;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_terminate;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGUSR2, &sa, NULL);
  /* SIGUSR1 (logrotate) is blocked the same way: taken while waiting,
   * or by the next log line of a request (log_reopen_on_pending). */
  sa.sa_handler = on_reopen;
  sigaction (SIGUSR1, &sa, NULL);

  /* The web server closing our connection must be an error, not death. */
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);
  /* Reloading is the supervisor's business; a HUP sent to the whole
   * process group must not kill requests in flight. */
  sigaction (SIGHUP, &sa, NULL);
  sa.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &sa, NULL);

  sigemptyset (&terminate);
  sigaddset (&terminate, SIGTERM);
  sigaddset (&terminate, SIGINT);
  sigaddset (&terminate, SIGUSR1);
  sigaddset (&terminate, SIGUSR2);
  /* Only these are blocked (the supervisor forks with all of its own
   * blocked); one that came before the handlers is still pending. */
  sigprocmask (SIG_SETMASK, &terminate, NULL);
  sigemptyset (&waiting);
  log_reopen_on_pending (SIGUSR1);
  return waiting;
}

/* Wait until a connection or a request on the kept one may be pending
 * (connection-wait.h), or SIGTERM came.  Returns what is ready, 0 when
 * nothing is.  The listening socket stays non-blocking: a woken worker
 * can still lose the race to one coming back from a request, and then
 * waits again. */
static int
wait_for_connection (struct connection_wait *w, const sigset_t *waiting)
{
  static struct timespec signals_asked;
  /* A backend kept open for the next request (an NBD connection, an
   * image file) is closed once it has waited long enough or its
   * transfer was cancelled: the wait wakes up to look. */
  int ready = connection_wait (w, backend_kept_tick (), waiting);
  sigset_t pending;

  if (ready == 0)
    return 0;
  if (stop_requested) {
    if (ready & CONNECTION_NEW)
      connection_wait_pass_on (w);     /* as below */
    return 0;
  }
  /* When a connection is already waiting, epoll_pwait returns at once
   * without delivering a pending SIGTERM: ask for it, or a busy worker
   * would never drain.  Every WORKER_SIGNAL_CHECK_MS, not before every
   * request: on small requests the system call was one in 15, and a
   * drain that starts 100 ms later loses nothing. */
  if (!monotonic_due (&signals_asked, WORKER_SIGNAL_CHECK_MS))
    return ready;
  sigpending (&pending);
  if (sigismember (&pending, SIGUSR2))
    orphaned = 1;
  if (sigismember (&pending, SIGTERM) || sigismember (&pending, SIGINT))
    terminated = 1;
  if (sigismember (&pending, SIGTERM) || sigismember (&pending, SIGINT)
      || orphaned) {
    stop_requested = 1;
    /* A wake-up another worker passed on may be in it, and the drain
     * looks only at this worker's own readiness: pass it on again. */
    if (ready & CONNECTION_NEW)
      connection_wait_pass_on (w);
    return 0;
  }
  return ready;
}

static bool
path_under (const char *path, const char *prefix)
{
  size_t len = strlen (prefix);

  return strncmp (path, prefix, len) == 0
         && (path[len] == '\0' || path[len] == '/');
}

/* /api and /tickets create, list and cancel transfers: for
 * administrators only (admin-access.h).  Returns false after answering
 * 403. */
static bool
admin_only (struct request *req, const struct config *cfg)
{
  char reason[256];

  if (admin_access_allowed (req, cfg, reason, sizeof reason))
    return true;
  log_warning ("%s %s from %s refused: %s", req->method, req->path,
               request_client (req), reason);
  api_error (req, 403, "%s", reason);
  return false;
}

static void
serve (struct request *req, const struct config *cfg)
{
  if (request_parse (req) == -1) {
    response_error (req, 400, "%s", error_message ());
    return;
  }
  /* CORS is for browsers uploading to /images (ImageIO's web UI); the
   * administrator's routes never answer it: no web page may script
   * them. */
  if (path_under (req->path, "/images")) {
    req->cors_origins = (const char *const *) cfg->cors_origins;
    images_handle (req, cfg);
  }
  else if (path_under (req->path, "/api")) {
    if (admin_only (req, cfg))
      api_handle (req, cfg);
  }
  else if (path_under (req->path, "/tickets")) {
    if (admin_only (req, cfg))
      tickets_handle (req, cfg);
  }
  else
    response_error (req, 404, "no such resource: %s", req->path);
}

/* The socket the web server connects to (fastcgi-accept.h), what the
 * worker waits on, and who is at the other end of the connection the
 * worker has open. */
static struct fastcgi_listener listener;
static struct connection_wait waiter;
static enum fastcgi_peer connection_peer;

/* Read the next request, from what wait_for_connection found ready: on
 * the connection the web server kept after the last one (FCGI_KEEP_CONN)
 * first, else on the next new connection that brings one.  Returns 1
 * with a request to serve, 0 when none was waiting, -1 when the
 * listening socket is broken. */
static int
read_next_request (struct request *req, const struct config *cfg, int ready)
{
  int kept = fastcgi_kept_connection (&req->fcgx);

  if ((ready & CONNECTION_KEPT) && kept >= 0) {
    /* nginx without a pool asks to keep each connection and closes it
     * after the answer: one peek, not libfcgi's read and accept. */
    if ((ready & CONNECTION_KEPT_HUP) && fastcgi_kept_ended (&req->fcgx))
      fastcgi_release_kept (&req->fcgx);
    else {
      /* Before the read, which may wait on a slow web server. */
      if (ready & CONNECTION_NEW)
        connection_wait_pass_on (&waiter);
      if (fastcgi_read_request (&req->fcgx, kept))
        return 1;
      ready &= ~CONNECTION_NEW;     /* passed on */
    }
    connection_wait_forget_kept (&waiter);
    log_debug ("worker: the connection the web server kept ended, timed "
               "out or was malformed");
  }
  if (!(ready & CONNECTION_NEW))
    return 0;
  for (;;) {
    int fd = fastcgi_accept (&listener, cfg->client_timeout,
                             &connection_peer);

    if (fd == -1) {
      if (errno == EAGAIN)
        return 0;
      log_error ("worker: accept failed: %m");
      /* A broken listening socket will not heal; the supervisor decides. */
      return -1;
    }
    connection_wait_accepted (&waiter);
    /* Idle, the kept connection would hold the web server's next request
     * on it behind this connection's (connection-wait.h).  Let go only
     * now: a wake-up lost to another worker leaves it kept. */
    fastcgi_release_kept (&req->fcgx);
    connection_wait_forget_kept (&waiter);
    if (fastcgi_read_request (&req->fcgx, fd))
      return 1;
    log_debug ("worker: a FastCGI connection closed, timed out or was "
               "malformed before its parameters ended");
  }
}

/* Take one request from what is ready and serve it.  Returns 1 when one
 * was served, 0 when none was waiting, -1 when the listening socket is
 * broken. */
static int
accept_and_serve (struct request *req, const struct config *cfg, int ready)
{
  int r = read_next_request (req, cfg, ready);

  if (r != 1)
    return r;
  req->fastcgi_peer = connection_peer;
  /* A state file replaced, truncated or overwritten since the last
   * request is mapped again here, between requests. */
  stats_refresh ();
  serve (req, cfg);
  response_finish (req);
  request_end_body (req);
  request_reset (req);
  FCGX_Finish_r (&req->fcgx);
  if (connection_wait_keep (&waiter, fastcgi_kept_connection (&req->fcgx))
      == -1) {
    log_warning ("worker: cannot watch the connection the web server "
                 "kept: %m; closing it");
    fastcgi_release_kept (&req->fcgx);
  }
  return 1;
}

/* Draining: requests the web server already queued on our socket were
 * accepted by it and must be answered, not reset.  New ones stop coming
 * once every process has closed the socket (the supervisor also removes
 * a --listen path); the time limit keeps a web server that keeps
 * sending from holding the drain open forever. */
static void
drain_backlog (struct request *req, const struct config *cfg)
{
  struct timespec start, now;

  clock_gettime (CLOCK_MONOTONIC, &start);
  do {
    int ready = connection_wait (&waiter, 0, NULL);

    if (ready == 0 || accept_and_serve (req, cfg, ready) != 1)
      return;
    clock_gettime (CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < WORKER_DRAIN_SECONDS);
}

/* The spool this worker serves, for the backends' cancel check. */
static const char *worker_spool_dir;

static bool
worker_transfer_wanted (const struct transfer *t)
{
  return transfer_still_present (worker_spool_dir, t);
}

int
worker_run (int listen_fd, int handoff_fd, const struct config *cfg)
{
  struct request req;
  sigset_t waiting = install_signals ();
  int flags = fcntl (listen_fd, F_GETFL);

  if (flags == -1 || fcntl (listen_fd, F_SETFL, flags | O_NONBLOCK) == -1) {
    log_error ("worker: cannot make the listening socket non-blocking: %m");
    return EXIT_FAILURE;
  }
  if (fastcgi_listener_init (&listener, listen_fd) == -1) {
    log_error ("worker: %s", error_message ());
    return EXIT_FAILURE;
  }
  if (connection_wait_init (&waiter, listen_fd, handoff_fd) == -1) {
    log_error ("worker: cannot watch the listening socket: %m");
    return EXIT_FAILURE;
  }
  log_set_level (cfg->log_level);
  backend_set_timeout (cfg->backend_timeout);
  backend_set_direct_writes (cfg->direct_writes);
  transfer_set_image_roots ((const char *const *) cfg->image_roots);
  backend_set_keep_seconds (cfg->backend_keep_seconds);
  worker_spool_dir = cfg->spool_dir;
  backend_set_cancel_check (worker_transfer_wanted);
  if (FCGX_Init () != 0) {
    log_error ("worker: FCGX_Init failed");
    return EXIT_FAILURE;
  }
  memset (&req, 0, sizeof req);
  /* No listening socket for libfcgi: the worker accepts (see
   * fastcgi_read_request). */
  if (FCGX_InitRequest (&req.fcgx, -1, 0) != 0) {
    log_error ("worker: FCGX_InitRequest failed");
    return EXIT_FAILURE;
  }
  stats_set_file_mode (cfg->file_mode);
  stats_attach (cfg->state_dir);
  log_debug ("worker started");

  while (!stop_requested) {
    int ready = wait_for_connection (&waiter, &waiting);

    if (reopen_requested) {
      reopen_requested = 0;
      log_reopen ();
    }
    if (ready == 0)
      continue;
    if (accept_and_serve (&req, cfg, ready) == -1)
      return EXIT_FAILURE;
  }
  /* Between requests: one orphan becomes the supervisor, the others
   * answer what is queued and leave.  A worker told to stop (the
   * supervisor was draining when it died) only leaves. */
  if (orphaned && !terminated) {
    backend_drop_kept ();
    stats_detach ();
    takeover_try ();
    stats_attach (cfg->state_dir);
  }
  drain_backlog (&req, cfg);
  /* Once every process has closed it, the web server sees the socket
   * closed and answers 503 at once instead of queueing. */
  connection_wait_close (&waiter);
  fastcgi_release_kept (&req.fcgx);
  close (listen_fd);
  log_debug ("worker stopping");
  backend_drop_kept ();
  stats_detach ();
  request_free (&req);
  return EXIT_SUCCESS;
}
