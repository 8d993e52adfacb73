/* SPDX-License-Identifier: Apache-2.0 */
/* Operator actions on the spool; see spool-admin.h. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-registry.h"
#include "cleanup.h"
#include "error.h"
#include "fullio.h"
#include "spool-admin.h"
#include "stats.h"
#include "transfer.h"

/* Put tmp in place of path.  To update (read_from: the file the
 * caller's text was made from), exchange the two names, so a descriptor
 * cancelled (deleted) since the caller read it stays cancelled instead
 * of coming back: the exchange fails with ENOENT.  The file that was
 * under path is now under tmp: if it is not the one read (replaced
 * meanwhile, by an administrator or another extend), the update was
 * made from an older text and would bring back what the newer one
 * changed (ops, path): exchanged back, it fails with EAGAIN.  Else the
 * old text is removed. */
static bool
same_file_version (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int
spool_rename (const char *tmp, const char *path, const struct stat *read_from,
              bool *replaced)
{
  struct stat was;

  if (read_from == NULL) {
    *replaced = lstat (path, &was) == 0;
    return rename (tmp, path);
  }
  *replaced = true;
  /* Most changes show before the exchange; the check after it catches
   * those in between. */
  if (lstat (path, &was) == 0 && !same_file_version (&was, read_from)) {
    errno = EAGAIN;
    return -1;
  }
  if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == -1)
    return -1;
  if (lstat (tmp, &was) == 0 && !same_file_version (&was, read_from)) {
    /* The newer one back in place; if even that fails, it must not be
     * removed with our temporary name: put it back by rename. */
    if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == -1
        && rename (tmp, path) == -1) {
      errno = EIO;
      return -1;
    }
    errno = EAGAIN;
    return -1;
  }
  unlink (tmp);
  return 0;
}

/* The descriptor goes to the spool's group (and, written by root, its
 * owner), which the workers run as: a file of root's, or of an
 * administrator's own group, with mode file_mode would be unreadable to
 * them, and an update would take a working transfer away from them.  An
 * account outside the spool's group keeps its own (it cannot give the
 * file away; the spool's permissions decide whether it may write). */
static int
spool_give_to_owner (int fd, const char *spool_dir)
{
  struct stat dir;

  if (stat (spool_dir, &dir) == -1)
    return -1;
  if (geteuid () == 0)
    return fchown (fd, dir.st_uid, dir.st_gid);
  if (fchown (fd, (uid_t) -1, dir.st_gid) == -1 && errno != EPERM)
    return -1;
  return 0;
}

static int
spool_write (const char *spool_dir, const char *id, const char *text,
             size_t len, bool confined, unsigned mode,
             const struct stat *read_from, bool *replaced)
{
  char path[PATH_MAX], tmp[PATH_MAX];
  struct transfer t;
  CLEANUP_CLOSE int fd = -1;
  CLEANUP_CLOSE int dirfd = -1;

  if (!transfer_id_valid (id)) {
    error_set (EINVAL, "invalid transfer id");
    return -1;
  }
  if (transfer_parse (id, text, len, &t) == -1)
    return -1;
  /* Without image_roots, transfer_parse confines nothing: a confined
   * writer (/api) may then name no file at all. */
  if (confined && transfer_image_roots () == NULL && t.type->confine != NULL) {
    error_set (EINVAL, "%s transfers need image_roots in the configuration "
               "to be written here", t.type->name);
    transfer_free (&t);
    return -1;
  }
  transfer_free (&t);

  if (snprintf (path, sizeof path, "%s/%s.json", spool_dir, id)
        >= (int) sizeof path
      || snprintf (tmp, sizeof tmp, "%s/.%s.XXXXXX", spool_dir, id)
        >= (int) sizeof tmp) {
    error_set (ENAMETOOLONG, "spool path too long");
    return -1;
  }
  fd = mkstemp (tmp);
  if (fd == -1) {
    error_set (errno, "create a temporary file in %s: %m", spool_dir);
    return -1;
  }
  if (full_pwrite (fd, text, len, 0) == -1
      || spool_give_to_owner (fd, spool_dir) == -1
      || fchmod (fd, (mode_t) mode) == -1 || fsync (fd) == -1) {
    int saved = errno;

    unlink (tmp);
    error_set (saved, "write %s: %s", tmp, strerror (saved));
    return -1;
  }
  if (spool_rename (tmp, path, read_from, replaced) == -1) {
    int saved = errno;

    if (read_from && saved == EIO) {
      /* tmp holds the newer descriptor, which could not be put back. */
      error_set (EIO, "the descriptor was replaced meanwhile and could not "
                 "be put back: it is %s", tmp);
      return -1;
    }
    unlink (tmp);
    if (read_from && saved == ENOENT)
      error_set (ENOENT, "no such transfer (cancelled meanwhile?)");
    else if (read_from && saved == EAGAIN)
      error_set (EAGAIN, "the descriptor was replaced meanwhile; nothing "
                 "changed, try again");
    else
      error_set (saved, "rename to %s: %s", path, strerror (saved));
    return -1;
  }
  /* The rename itself must survive a crash too. */
  dirfd = open (spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0)
    fsync (dirfd);
  /* A new transfer under an old id starts with fresh counters; a
   * replaced one is the same transfer, updated. */
  stats_transfer_installed (id, *replaced);
  return 0;
}

int
spool_install (const char *spool_dir, const char *id, const char *text,
               size_t len, bool confined, unsigned mode, bool *replaced)
{
  return spool_write (spool_dir, id, text, len, confined, mode, NULL,
                      replaced);
}

int
spool_update (const char *spool_dir, const char *id, const char *text,
              size_t len, bool confined, unsigned mode,
              const struct stat *read_from)
{
  bool replaced;

  return spool_write (spool_dir, id, text, len, confined, mode, read_from,
                      &replaced);
}

int
spool_cancel (const char *spool_dir, const char *id)
{
  char path[PATH_MAX];

  if (!transfer_id_valid (id)) {
    error_set (EINVAL, "invalid transfer id");
    return -1;
  }
  if (snprintf (path, sizeof path, "%s/%s.json", spool_dir, id)
      >= (int) sizeof path) {
    error_set (ENAMETOOLONG, "spool path too long");
    return -1;
  }
  if (access (path, F_OK) == -1) {
    error_set (ENOENT, "no such transfer: %s", id);
    return -1;
  }
  /* Marked before the file goes: a watcher must never see the file gone
   * and the transfer not yet cancelled ("absent"). */
  stats_transfer_cancelled (id);
  if (unlink (path) == -1 && errno != ENOENT) {
    int saved = errno;

    /* Still in place: not cancelled after all. */
    stats_transfer_installed (id, true);
    error_set (saved, "unlink %s: %s", path, strerror (saved));
    return -1;
  }
  return 0;
}

static int
compare_ids (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
spool_list (const char *spool_dir)
{
  DIR *dir = opendir (spool_dir);
  struct dirent *d;
  char **ids = NULL;
  size_t n = 0, alloc = 0;

  if (dir == NULL) {
    error_set (errno, "open spool %s: %m", spool_dir);
    return NULL;
  }
  while ((d = readdir (dir)) != NULL) {
    size_t len = strlen (d->d_name);
    char *id;

    if (d->d_name[0] == '.' || len <= 5
        || strcmp (d->d_name + len - 5, ".json") != 0)
      continue;
    id = strndup (d->d_name, len - 5);
    if (id == NULL)
      goto nomem;
    if (!transfer_id_valid (id)) {
      free (id);
      continue;
    }
    if (n + 2 > alloc) {
      char **p;

      alloc = alloc ? alloc * 2 : 16;
      p = realloc (ids, alloc * sizeof *ids);
      if (p == NULL) {
        free (id);
        goto nomem;
      }
      ids = p;
    }
    ids[n++] = id;
  }
  closedir (dir);
  if (ids == NULL) {
    ids = calloc (1, sizeof *ids);
    if (ids == NULL) {
      error_set (ENOMEM, "out of memory");
      return NULL;
    }
    return ids;
  }
  ids[n] = NULL;
  qsort (ids, n, sizeof *ids, compare_ids);
  return ids;

 nomem:
  closedir (dir);
  if (ids)
    ids[n] = NULL;
  spool_list_free (ids);
  error_set (ENOMEM, "out of memory");
  return NULL;
}

void
spool_list_free (char **ids)
{
  if (ids == NULL)
    return;
  for (size_t i = 0; ids[i]; i++)
    free (ids[i]);
  free (ids);
}
