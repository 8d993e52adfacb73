/* SPDX-License-Identifier: Apache-2.0 */
/* Reading descriptors from the spool: one file per transfer, looked at
 * again by every request (read again unless unchanged since the last
 * request, descriptor-cache.h), never trusted to be whole or well
 * formed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor-cache.h"
#include "error.h"
#include "log.h"
#include "transfer.h"

/* Invalid files are reported once per version of the file, not once
 * per request: a client polling a broken transfer would otherwise fill
 * the log.  A small ring per process is plenty; forgetting an entry
 * only means one more warning. */
struct reported_file {
  dev_t dev;
  ino_t ino;
  struct timespec mtime;
};
static struct reported_file reported[32];
static size_t reported_next;

static bool
report_first_time (const struct stat *st)
{
  for (size_t i = 0; i < sizeof reported / sizeof reported[0]; i++) {
    const struct reported_file *r = &reported[i];

    if (r->dev == st->st_dev && r->ino == st->st_ino
        && r->mtime.tv_sec == st->st_mtim.tv_sec
        && r->mtime.tv_nsec == st->st_mtim.tv_nsec)
      return false;
  }
  reported[reported_next].dev = st->st_dev;
  reported[reported_next].ino = st->st_ino;
  reported[reported_next].mtime = st->st_mtim;
  reported_next = (reported_next + 1) % (sizeof reported / sizeof reported[0]);
  return true;
}

/* The file exists but cannot be used: to callers it is absent
 * (ENOENT), and the log says why.  The reason is the current error
 * message; copy it first, error_set reuses its buffer. */
static int
invalid_descriptor (const char *spool_dir, const char *id,
                    const struct stat *st)
{
  char reason[256];

  snprintf (reason, sizeof reason, "%s", error_message ());
  if (report_first_time (st))
    log_warning ("transfer %s: ignoring invalid descriptor %s/%s.json: %s",
                 id, spool_dir, id, reason);
  else
    log_debug ("transfer %s: ignoring invalid descriptor %s/%s.json: %s",
               id, spool_dir, id, reason);
  error_set (ENOENT, "transfer %s: invalid descriptor: %s", id, reason);
  return -1;
}

/* Read all of fd, at most TRANSFER_DESCRIPTOR_MAX bytes.  The size from
 * fstat is only a hint: the file may change while we read. */
static char *
read_descriptor (int fd, const struct stat *st, size_t *len_out)
{
  size_t cap, len = 0;
  char *buf;

  cap = st->st_size < TRANSFER_DESCRIPTOR_MAX ? (size_t) st->st_size + 1
                                           : TRANSFER_DESCRIPTOR_MAX + 1;
  buf = malloc (cap);
  if (buf == NULL) {
    error_set (ENOMEM, "malloc");
    return NULL;
  }
  for (;;) {
    ssize_t n;

    if (len == cap) {
      char *bigger;

      if (cap > TRANSFER_DESCRIPTOR_MAX)
        break;
      cap = cap * 2 > TRANSFER_DESCRIPTOR_MAX + 1 ? TRANSFER_DESCRIPTOR_MAX + 1
                                               : cap * 2;
      bigger = realloc (buf, cap);
      if (bigger == NULL) {
        free (buf);
        error_set (ENOMEM, "realloc");
        return NULL;
      }
      buf = bigger;
    }
    n = read (fd, buf + len, cap - len);
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1) {
      free (buf);
      error_set (errno, "read");
      return NULL;
    }
    if (n == 0)
      break;
    len += (size_t) n;
  }
  *len_out = len;
  return buf;
}

int
transfer_read_descriptor (const char *spool_dir, const char *id, char **text,
                          size_t *len, struct stat *st)
{
  CLEANUP_FREE char *path = NULL;
  CLEANUP_CLOSE int fd = -1;

  *text = NULL;
  *len = 0;
  memset (st, 0, sizeof *st);
  if (!transfer_id_valid (id)) {
    error_set (EINVAL, "invalid transfer id");
    return -1;
  }
  if (asprintf (&path, "%s/%s.json", spool_dir, id) == -1) {
    path = NULL;
    error_set (ENOMEM, "asprintf");
    return -1;
  }

  /* O_NONBLOCK: opening a FIFO planted in the spool must not hang the
   * worker; it has no effect on regular files. */
  fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd == -1) {
    int saved_errno = errno;

    if (saved_errno == ENOENT || saved_errno == ENOTDIR) {
      error_set (ENOENT, "transfer %s: no such transfer", id);
      return -1;
    }
    if (saved_errno == ELOOP && lstat (path, st) == 0) {
      error_set (EINVAL, "is a symbolic link");
      return -1;
    }
    error_set (saved_errno, "open %s: %s", path, strerror (saved_errno));
    return -1;
  }
  if (fstat (fd, st) == -1) {
    int saved_errno = errno;

    error_set (saved_errno, "fstat %s: %s", path, strerror (saved_errno));
    return -1;
  }
  if (!S_ISREG (st->st_mode)) {
    error_set (EINVAL, "not a regular file");
    return -1;
  }
  if (st->st_size > TRANSFER_DESCRIPTOR_MAX) {
    error_set (EINVAL, "descriptor too large (%jd bytes, at most %d)",
               (intmax_t) st->st_size, TRANSFER_DESCRIPTOR_MAX);
    return -1;
  }
  *text = read_descriptor (fd, st, len);
  if (*text == NULL) {
    int saved_errno = errno;

    error_set (saved_errno, "read %s: %s", path, strerror (saved_errno));
    return -1;
  }
  if (*len > TRANSFER_DESCRIPTOR_MAX) {
    free (*text);
    *text = NULL;
    error_set (EINVAL, "descriptor too large (more than %d bytes)",
               TRANSFER_DESCRIPTOR_MAX);
    return -1;
  }
  return 0;
}

int
transfer_load (const char *spool_dir, const char *id, struct transfer *t)
{
  CLEANUP_FREE char *text = NULL;
  CLEANUP_FREE char *path = NULL;
  const char *kept = NULL;
  struct stat st;
  size_t len;

  memset (t, 0, sizeof *t);
  if (!transfer_id_valid (id)) {
    error_set (EINVAL, "invalid transfer id");
    return -1;
  }
  if (asprintf (&path, "%s/%s.json", spool_dir, id) != -1)
    kept = descriptor_cache_find (path, &st, &len);
  else
    path = NULL;
  if (!kept
      && transfer_read_descriptor (spool_dir, id, &text, &len, &st) == -1)
    return error_errno () == EINVAL ? invalid_descriptor (spool_dir, id, &st)
                                    : -1;
  if (transfer_parse (id, kept ? kept : text, len, t) == -1) {
    if (error_errno () != EINVAL)
      return -1;
    return invalid_descriptor (spool_dir, id, &st);
  }
  if (!kept && path)
    descriptor_cache_keep (path, &st, text, len);
  t->spool_dev = st.st_dev;
  t->spool_ino = st.st_ino;
  t->spool_mtime = st.st_mtime;
  t->spool_mtime_nsec = st.st_mtim.tv_nsec;
  return 0;
}

bool
transfer_still_present (const char *spool_dir, const struct transfer *t)
{
  char path[PATH_MAX];
  struct stat st;
  int n;

  n = snprintf (path, sizeof path, "%s/%s.json", spool_dir, t->id);
  if (n < 0 || (size_t) n >= sizeof path)
    return false;
  /* Only deleting cancels.  Operators replace descriptors by rename to
   * extend "expires" (ImageIO's ticket extend); requests in flight carry
   * on with the descriptor they started with, new ones read the new one. */
  return lstat (path, &st) == 0 || errno != ENOENT;
}
