/* SPDX-License-Identifier: Apache-2.0 */
/* Where log lines go: stderr (the web server's, or the journal's), or
 * the file named by log_file, reopened for logrotate on SIGUSR1. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "monotonic.h"

static char *log_path;          /* log_file, or NULL: stderr as inherited */
static int inherited_stderr = -1; /* kept to go back to it on reload */
static int journal_state = -1;  /* -1: not checked since stderr changed */
static int reopen_signal;       /* blocked signal asking for a reopen */

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to stdout/stderr; anything else on fd 2 (a log_file, a web
 * server's pipe inherited from a shell under systemd) is not it. */
static bool
stderr_is_journal (void)
{
  const char *stream = getenv ("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  if (stream == NULL || sscanf (stream, "%llu:%llu", &dev, &ino) != 2)
    return false;
  if (fstat (STDERR_FILENO, &st) == -1)
    return false;
  return (unsigned long long) st.st_dev == dev
         && (unsigned long long) st.st_ino == ino;
}

bool
log_output_is_journal (void)
{
  if (journal_state < 0)
    journal_state = stderr_is_journal ();
  return journal_state;
}

/* The file becomes fd 2, so whatever else writes to stderr (libraries)
 * lands there too. */
static int
open_onto_stderr (const char *path)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                 0640);

  if (fd == -1) {
    int saved_errno = errno;

    error_set (saved_errno, "cannot open log_file %s: %s", path,
               strerror (saved_errno));
    return -1;
  }
  if (fd != STDERR_FILENO) {
    if (dup2 (fd, STDERR_FILENO) == -1) {
      int saved_errno = errno;

      close (fd);
      error_set (saved_errno, "cannot use log_file %s: %s", path,
                 strerror (saved_errno));
      return -1;
    }
    close (fd);
  }
  journal_state = -1;
  return 0;
}

int
log_use_file (const char *path)
{
  char *copy = NULL;

  if (path && log_path && strcmp (path, log_path) == 0)
    return 0;
  if (path == NULL) {
    if (log_path && inherited_stderr != -1) {
      dup2 (inherited_stderr, STDERR_FILENO);
      journal_state = -1;
    }
    free (log_path);
    log_path = NULL;
    return 0;
  }
  if ((copy = strdup (path)) == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  if (inherited_stderr == -1)
    inherited_stderr = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (open_onto_stderr (path) == -1) {
    free (copy);
    return -1;
  }
  free (log_path);
  log_path = copy;
  return 0;
}

void
log_reopen (void)
{
  if (log_path == NULL)
    return;
  if (open_onto_stderr (log_path) == -1)
    log_error ("%s; still writing to the file opened before",
               error_message ());
}

void
log_reopen_on_pending (int sig)
{
  reopen_signal = sig;
}

/* A worker busy with one request after another asks at most this often:
 * for every log line, the system call was one in 15 of a small request.
 * Lines written in between still land, in the file just rotated. */
#define LOG_REOPEN_CHECK_MS 100

void
log_output_check_pending (void)
{
  static const struct timespec no_wait = { 0, 0 };
  static struct timespec asked;
  sigset_t pending, only;

  if (reopen_signal == 0 || !monotonic_due (&asked, LOG_REOPEN_CHECK_MS)
      || sigpending (&pending) == -1
      || !sigismember (&pending, reopen_signal))
    return;
  sigemptyset (&only);
  sigaddset (&only, reopen_signal);
  if (sigtimedwait (&only, NULL, &no_wait) == reopen_signal)
    log_reopen ();
}
