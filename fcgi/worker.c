#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api.h"
#include "error.h"
#include "http-status.h"
#include "images.h"
#include "log.h"
#include "request.h"
#include "stats.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;

static void
on_terminate (int sig)
{
  stop_requested = 1;
  /* Makes libfcgi's accept loop give up on EINTR instead of retrying. */
  FCGX_ShutdownPending ();
}

static void
install_signals (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_terminate;
  sigemptyset (&sa.sa_mask);
  /* No SA_RESTART: a worker idle in accept() must wake up and leave. */
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);

  /* The web server closing our connection must be an error, not death. */
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);
  sa.sa_handler = SIG_DFL;
  sigaction (SIGHUP, &sa, NULL);
  sigaction (SIGCHLD, &sa, NULL);
}

static bool
path_under (const char *path, const char *prefix)
{
  size_t len = strlen (prefix);

  return strncmp (path, prefix, len) == 0
         && (path[len] == '\0' || path[len] == '/');
}

static void
serve (struct request *req, const struct config *cfg)
{
  if (request_parse (req) == -1) {
    response_error (req, 400, "%s", error_message ());
    return;
  }
  if (path_under (req->path, "/images"))
    images_handle (req, cfg);
  else if (path_under (req->path, "/api"))
    api_handle (req, cfg);
  else
    response_error (req, 404, "no such resource: %s", req->path);
}

int
worker_run (int listen_fd, const struct config *cfg)
{
  struct request req;

  install_signals ();
  log_set_level (cfg->log_level);
  if (FCGX_Init () != 0) {
    log_error ("worker: FCGX_Init failed");
    return EXIT_FAILURE;
  }
  memset (&req, 0, sizeof req);
  if (FCGX_InitRequest (&req.fcgx, listen_fd, 0) != 0) {
    log_error ("worker: FCGX_InitRequest failed");
    return EXIT_FAILURE;
  }
  stats_attach (cfg->state_dir);
  log_debug ("worker started");

  while (!stop_requested) {
    if (FCGX_Accept_r (&req.fcgx) < 0) {
      if (stop_requested)
        break;
      if (errno == EINTR)
        continue;
      log_error ("worker: accept failed: %m");
      /* A broken listening socket will not heal; the supervisor decides. */
      return EXIT_FAILURE;
    }
    serve (&req, cfg);
    request_reset (&req);
    FCGX_Finish_r (&req.fcgx);
  }
  log_debug ("worker stopping");
  stats_detach ();
  return EXIT_SUCCESS;
}
