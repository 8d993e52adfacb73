/* SPDX-License-Identifier: Apache-2.0 */
/* Surviving the death of the supervisor in spawned mode (takeover.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "process-info.h"
#include "takeover.h"

/* "PID:START" (start: Unix seconds) of the web server, for the supervisor that takes over
 * (it is not the web server's child). */
#define WEB_SERVER_ENV "IMAGEXFER_WEB_SERVER"
/* The lock's descriptor, held across the exec of a takeover so that no
 * other worker takes over meanwhile. */
#define LOCK_FD_ENV "IMAGEXFER_TAKEOVER_LOCK_FD"

static bool spawned;           /* takeover_supervisor_start was called */
static int lock_fd = -1;
static char **self_argv;
static pid_t supervisor_pid;
static pid_t web_server_pid;
static double web_server_start;

/* When the process started (Unix seconds, at the kernel's clock-tick
 * resolution), so that a pid used again by another process is not taken
 * for the web server; 0 when it is gone. */
static double
process_start_time (pid_t pid)
{
  struct process_info info;

  return process_info_read (pid, &info) == 0 ? info.start_time : 0;
}

/* One lock per listening socket: a file in state_dir named after the
 * socket's inode, locked (flock) by one process at a time.  Not an
 * abstract unix socket, whose name any local account could bind first
 * and so stop every supervisor of this socket from starting: only the
 * daemon's account may create files in state_dir. */
static char lock_dir[PATH_MAX];

static int
lock_path (int listen_fd, char *path, size_t size)
{
  struct stat st;

  if (fstat (listen_fd, &st) == -1)
    return -1;
  if (snprintf (path, size, "%s/supervisor-%ju-%ju.lock", lock_dir,
                (uintmax_t) st.st_dev, (uintmax_t) st.st_ino)
      >= (int) size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

/* The lock's fd, or -1: EADDRINUSE when another process holds it. */
static int
lock_take (int listen_fd)
{
  char path[PATH_MAX];
  int fd;

  if (lock_path (listen_fd, path, sizeof path) == -1)
    return -1;
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
             0600);
  if (fd == -1)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) == -1) {
    int saved = errno == EWOULDBLOCK ? EADDRINUSE : errno;

    close (fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* The lock a worker took before it executed this program, if the
 * descriptor named in the environment is that lock (the lock is the
 * open file, so it is still held). */
static int
lock_inherited (int listen_fd)
{
  const char *env = getenv (LOCK_FD_ENV);
  char path[PATH_MAX];
  struct stat want, have;
  int fd;

  if (env == NULL)
    return -1;
  fd = atoi (env);
  unsetenv (LOCK_FD_ENV);
  if (fd <= STDERR_FILENO)
    return -1;
  if (lock_path (listen_fd, path, sizeof path) == -1
      || stat (path, &want) == -1 || fstat (fd, &have) == -1
      || want.st_dev != have.st_dev || want.st_ino != have.st_ino) {
    /* Another lock (state_dir changed with the exec): not ours to keep,
     * nor to pass on to the workers. */
    close (fd);
    return -1;
  }
  fcntl (fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int
takeover_supervisor_start (int listen_fd, const char *state_dir, char **argv)
{
  const char *env = getenv (WEB_SERVER_ENV);
  char value[64];

  snprintf (lock_dir, sizeof lock_dir, "%s", state_dir);
  spawned = true;
  self_argv = argv;
  supervisor_pid = getpid ();
  lock_fd = lock_inherited (listen_fd);
  if (lock_fd == -1)
    lock_fd = lock_take (listen_fd);
  if (lock_fd == -1 && errno == EADDRINUSE)
    return -1;
  if (lock_fd == -1)
    log_warning ("supervisor: no takeover lock (%m); if this process "
                 "dies, the web server must restart imagexfer");
  if (env == NULL
      || sscanf (env, "%d:%lf", &web_server_pid, &web_server_start) != 2) {
    web_server_pid = getppid ();
    web_server_start = process_start_time (web_server_pid);
    snprintf (value, sizeof value, "%d:%.3f", (int) web_server_pid,
              web_server_start);
    setenv (WEB_SERVER_ENV, value, 1);
  }
  return 0;
}

bool
takeover_web_server_gone (void)
{
  double drift;

  if (!spawned || web_server_pid <= 1)
    return false;
  /* Printed to 1 ms and read back: equal within the clock tick. */
  drift = process_start_time (web_server_pid) - web_server_start;
  return drift > 0.005 || drift < -0.005;
}

void
takeover_worker_start (void)
{
  sigset_t orphan;

  if (lock_fd != -1)
    close (lock_fd);
  lock_fd = -1;
  /* Held until the worker has its handler (worker_run), so that it is
   * not killed by SIGUSR2's default action meanwhile. */
  sigemptyset (&orphan);
  sigaddset (&orphan, SIGUSR2);
  sigprocmask (SIG_BLOCK, &orphan, NULL);
  prctl (PR_SET_PDEATHSIG, spawned ? SIGUSR2 : SIGTERM);
  /* The supervisor may have died before the line above. */
  if (spawned && getppid () != supervisor_pid)
    raise (SIGUSR2);
}

void
takeover_try (void)
{
  char number[16];
  int fd;

  if (!spawned || self_argv == NULL)
    return;
  fd = lock_take (STDIN_FILENO);
  if (fd == -1)
    return;                    /* another worker took over first */
  log_warning ("worker: the supervisor died; taking over as supervisor");
  /* A SIGUSR2 still pending would kill the new supervisor, which does
   * not handle it: ignoring it discards it, across the exec too. */
  signal (SIGUSR2, SIG_IGN);
  /* The new supervisor keeps the lock (lock_inherited). */
  snprintf (number, sizeof number, "%d", fd);
  if (fcntl (fd, F_SETFD, 0) == 0 && setenv (LOCK_FD_ENV, number, 1) == 0)
    execv ("/proc/self/exe", self_argv);
  log_error ("worker: cannot take over as supervisor: exec: %m");
  unsetenv (LOCK_FD_ENV);
  close (fd);
}
