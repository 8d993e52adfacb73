/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "service-notify.h"
#include "stats.h"
#include "supervisor.h"
#include "takeover.h"
#include "worker.h"

struct worker_slot {
  pid_t pid;                   /* 0: free */
  unsigned generation;         /* config generation it was started with */
  struct timespec started;
};

static struct worker_slot slots[CONFIG_MAX_WORKERS * 2];
static unsigned generation;
static volatile sig_atomic_t got_terminate, got_reload, got_child;
static volatile sig_atomic_t got_reopen;

static void
on_signal (int sig)
{
  switch (sig) {
  case SIGTERM:
  case SIGINT:
    got_terminate = 1;
    break;
  case SIGHUP:
    got_reload = 1;
    break;
  case SIGCHLD:
    got_child = 1;
    break;
  case SIGUSR1:
    got_reopen = 1;
    break;
  }
}

static void
install_signals (sigset_t *blocked)
{
  struct sigaction sa;
  static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1 };

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigemptyset (blocked);
  for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
    sigaction (handled[i], &sa, NULL);
    sigaddset (blocked, handled[i]);
  }
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);
  /* Signals arrive only inside sigsuspend: no race between checking the
   * flags and sleeping. */
  sigprocmask (SIG_BLOCK, blocked, NULL);
}

static double
seconds_since (const struct timespec *then)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - then->tv_sec)
         + (double) (now.tv_nsec - then->tv_nsec) / 1e9;
}

static unsigned
count_current_workers (void)
{
  unsigned n = 0;

  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (slots[i].pid && slots[i].generation == generation)
      n++;
  return n;
}

static unsigned
count_all_workers (void)
{
  unsigned n = 0;

  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (slots[i].pid)
      n++;
  return n;
}

/* An eventfd the workers wake each other through (connection-wait.h),
 * or -1: made once, inherited by every worker. */
static int handoff_fd = -1;

static int
spawn_worker (int listen_fd, const struct config *cfg)
{
  struct worker_slot *slot = NULL;
  pid_t pid;

  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (!slots[i].pid) {
      slot = &slots[i];
      break;
    }
  if (!slot)
    return -1;

  pid = fork ();
  if (pid == -1) {
    log_error ("supervisor: fork: %m");
    return -1;
  }
  if (pid == 0) {
    /* A worker learns when its supervisor dies (takeover.h).  Signals
     * stay blocked until worker_run has its own handlers: a SIGTERM sent
     * right after the fork (a stop just after a reload) would otherwise
     * reach the supervisor's handler and be lost, and the drain would
     * wait for this worker forever. */
    takeover_worker_start ();
    stats_detach ();
    _exit (worker_run (listen_fd, handoff_fd, cfg));
  }
  slot->pid = pid;
  slot->generation = generation;
  clock_gettime (CLOCK_MONOTONIC, &slot->started);
  log_debug ("supervisor: started worker %d", (int) pid);
  return 0;
}

static void
signal_workers (int sig, bool only_old)
{
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (slots[i].pid && (!only_old || slots[i].generation != generation))
      kill (slots[i].pid, sig);
}

/* Reap every exited worker.  Returns how many of the current generation
 * died early (within a second of starting): a crash loop to slow down. */
static unsigned
reap_workers (bool terminating)
{
  unsigned early_deaths = 0;
  pid_t pid;
  int status;

  while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
      struct worker_slot *slot = &slots[i];
      bool expected;

      if (slot->pid != pid)
        continue;
      expected = terminating || slot->generation != generation;
      if (WIFSIGNALED (status))
        log_msg (expected ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
                 "supervisor: worker %d killed by signal %d%s", (int) pid,
                 WTERMSIG (status), expected ? "" : "; replacing it");
      else if (WEXITSTATUS (status) != 0 || !expected)
        log_msg (expected ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING,
                 "supervisor: worker %d exited with status %d%s", (int) pid,
                 WEXITSTATUS (status), expected ? "" : "; replacing it");
      stats_worker_exited (pid, status);
      if (!expected && seconds_since (&slot->started) < 1.0)
        early_deaths++;
      slot->pid = 0;
      break;
    }
  }
  return early_deaths;
}

/* systemd (Type=notify) learns when we serve, reload and stop.  Only
 * the daemon tells: a supervisor spawned by a web server is not the
 * service's main process. */
static void
notify (const struct supervisor_options *options, const char *state)
{
  if (!options->exit_with_parent && service_notify (state) == -1)
    log_warning ("supervisor: cannot tell systemd %s: %s", state,
                 error_message ());
}

static void
reload (struct config *cfg, const struct supervisor_options *options)
{
  struct config fresh;

  notify (options, "RELOADING=1");
  if (config_load (options->config_path, &fresh) == -1
      || log_use_file (fresh.log_file) == -1) {
    log_error ("supervisor: reload failed, keeping the running config: %s",
               error_message ());
    config_free (&fresh);
    notify (options, "READY=1");
    return;
  }
  if (options->workers_override > 0)
    fresh.workers = (unsigned) options->workers_override;
  config_free (cfg);
  *cfg = fresh;
  log_set_level (cfg->log_level);
  /* New workers take the new config; old ones finish their request. */
  generation++;
  signal_workers (SIGTERM, true);
  log_info ("supervisor: config reloaded from %s, %u workers",
            cfg->path ? cfg->path : "(defaults)", cfg->workers);
  notify (options, "READY=1");
}

/* logrotate moved the log file: this process and every worker open it
 * again. */
static void
reopen_logs (void)
{
  log_reopen ();
  signal_workers (SIGUSR1, false);
}

/* Stop taking requests, let the workers finish theirs.  Closing the
 * listening socket (and removing its path) makes the web server answer
 * new requests with 503 at once instead of queueing them behind the
 * drain. */
static void
drain (int listen_fd, const struct supervisor_options *options)
{
  sigset_t none;

  notify (options, "STOPPING=1");
  close (listen_fd);
  if (options->listen_path)
    unlink (options->listen_path);
  log_info ("supervisor: draining %u workers", count_all_workers ());
  signal_workers (SIGTERM, false);
  sigemptyset (&none);
  while (count_all_workers () > 0) {
    got_child = 0;
    reap_workers (true);
    if (count_all_workers () == 0)
      break;
    if (!got_child)
      sigsuspend (&none);
  }
}

int
supervisor_run (int listen_fd, struct config *cfg,
                const struct supervisor_options *options)
{
  sigset_t blocked, none;
  /* How soon a broken state file is noticed when no worker dies. */
  const struct timespec state_check_interval = { .tv_sec = 1 };

  if (options->exit_with_parent) {
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    if (takeover_supervisor_start (listen_fd, cfg->state_dir, options->argv)
        == -1) {
      log_info ("supervisor: another supervisor serves this socket");
      return EXIT_SUCCESS;
    }
  }
  install_signals (&blocked);
  sigemptyset (&none);
  handoff_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (handoff_fd == -1)
    log_warning ("supervisor: eventfd: %m; a worker taking a request on a "
                 "kept connection cannot wake another for a new one");
  stats_set_file_mode (cfg->file_mode);
  stats_attach (cfg->state_dir);
  stats_supervisor_start (cfg->workers);
  log_info ("supervisor: serving with %u workers (config %s)", cfg->workers,
            cfg->path ? cfg->path : "built-in defaults");

  bool ready_told = false;

  while (!got_terminate) {
    unsigned early_deaths;

    /* Taken over from a dead supervisor, this one is not the web
     * server's child: it leaves with the web server. */
    if (takeover_web_server_gone ()) {
      log_info ("supervisor: the web server has exited");
      break;
    }

    if (got_reload) {
      got_reload = 0;
      reload (cfg, options);
    }
    /* A state file deleted, replaced, truncated or overwritten is
     * mapped again (rebuilt if need be) before the dead are counted
     * out of it: the table the workers use is the one to clean. */
    if (stats_refresh () == 1)
      stats_supervisor_start (cfg->workers);
    got_child = 0;
    early_deaths = reap_workers (false);
    if (early_deaths > 0) {
      /* Workers dying at birth: don't spin, give the cause time. */
      struct timespec pause = { .tv_sec = 0, .tv_nsec = 500 * 1000 * 1000 };
      nanosleep (&pause, NULL);
    }
    if (got_reopen) {
      got_reopen = 0;
      reopen_logs ();
    }
    while (count_current_workers () < cfg->workers
           && spawn_worker (listen_fd, cfg) == 0)
      ;
    /* The socket listens and the workers are forked: connections from
     * now on are accepted (queued until a worker takes them). */
    if (!ready_told && count_current_workers () > 0) {
      notify (options, "READY=1");
      ready_told = true;
    }
    if (!got_terminate && !got_reload && !got_child)
      ppoll (NULL, 0, &state_check_interval, &none);
  }
  drain (listen_fd, options);
  if (handoff_fd >= 0)
    close (handoff_fd);
  stats_detach ();
  log_info ("supervisor: stopped");
  return EXIT_SUCCESS;
}
