/* SPDX-License-Identifier: Apache-2.0 */
/* The shared state table: mapping it, and building it afresh when it is
 * missing or not ours.  The modules on top use the table's parts:
 * stats-entry.c (transfers), stats-slots.c (workers), stats.c (the data
 * path's hooks, attaching and detaching), stats-ranges.c, stats-read.c
 * and events.c.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "stats-map.h"

struct stats_map *stats_map;
bool stats_writable;

/* Mapping. */

/* The permissions of a table this process creates (config file_mode). */
static mode_t stats_file_mode = 0640;

void
stats_map_set_file_mode (unsigned mode)
{
  stats_file_mode = (mode_t) mode;
}

static bool
map_valid (const struct stats_map *m)
{
  return m->header.magic == STATS_MAGIC
    && m->header.version == STATS_VERSION
    && m->header.header_size == sizeof m->header
    && m->header.size == sizeof *m;
}

static uint64_t
new_generation (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return ((uint64_t) ts.tv_sec << 32) ^ (uint64_t) ts.tv_nsec
    ^ ((uint64_t) getpid () << 16);
}

/* Write a fresh table under a temporary name and rename it into place,
 * so a process mapping the old file never sees a half-built one. */
static int
rebuild (const char *state_dir, const char *path)
{
  char tmp[PATH_MAX];
  struct stats_header h = {
    .magic = STATS_MAGIC,
    .version = STATS_VERSION,
    .header_size = sizeof (struct stats_header),
    .size = sizeof (struct stats_map),
    .generation = new_generation (),
  };
  int fd;

  if (snprintf (tmp, sizeof tmp, "%s/.stats.XXXXXX", state_dir)
      >= (int) sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkstemp (tmp);
  if (fd == -1)
    return -1;
  if (ftruncate (fd, (off_t) sizeof (struct stats_map)) == -1
      || pwrite (fd, &h, sizeof h, 0) != (ssize_t) sizeof h
      || fchmod (fd, stats_file_mode) == -1
      || rename (tmp, path) == -1) {
    int saved = errno;
    close (fd);
    unlink (tmp);
    errno = saved;
    return -1;
  }
  close (fd);
  return 0;
}

/* Open path and map it if it is a valid table.  Returns the mapping,
 * or NULL (errno EINVAL: exists but not valid). */
static struct stats_map *
map_file (const char *path, bool *writable)
{
  CLEANUP_CLOSE int fd = -1;
  struct stat st, st_path;
  struct stats_map *m;

  *writable = true;
  fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd == -1 && (errno == EACCES || errno == EROFS)) {
    *writable = false;
    fd = open (path, O_RDONLY | O_CLOEXEC);
  }
  if (fd == -1)
    return NULL;
  if (fstat (fd, &st) == -1)
    return NULL;
  if (!S_ISREG (st.st_mode) || st.st_size != (off_t) sizeof *m) {
    errno = EINVAL;
    return NULL;
  }
  m = mmap (NULL, sizeof *m, *writable ? PROT_READ | PROT_WRITE : PROT_READ,
            MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return NULL;
  if (!map_valid (m)) {
    munmap (m, sizeof *m);
    errno = EINVAL;
    return NULL;
  }
  /* Someone may have renamed a rebuilt table over the one we opened. */
  if (stat (path, &st_path) == -1 || st_path.st_ino != st.st_ino
      || st_path.st_dev != st.st_dev) {
    munmap (m, sizeof *m);
    errno = EAGAIN;
    return NULL;
  }
  return m;
}

int
stats_map_attach (const char *state_dir, bool create)
{
  char path[PATH_MAX];
  bool writable = false;

  if (stats_map)
    return 0;
  if (state_dir == NULL
      || snprintf (path, sizeof path, "%s/stats", state_dir)
         >= (int) sizeof path) {
    log_warning ("stats: no usable state_dir; statistics disabled");
    return -1;
  }
  for (int attempt = 0; attempt < 5; attempt++) {
    struct stats_map *m = map_file (path, &writable);

    if (m) {
      stats_map = m;
      stats_writable = writable;
      return 0;
    }
    if (!create)
      return -1;
    if (errno != ENOENT && errno != EINVAL && errno != EAGAIN) {
      log_warning ("stats: open %s: %m; statistics disabled", path);
      return -1;
    }
    if (errno != EAGAIN) {
      log_info ("stats: %s %s, building a new table", path,
                errno == ENOENT ? "missing" : "invalid");
      if (rebuild (state_dir, path) == -1) {
        log_warning ("stats: cannot build %s: %m; statistics disabled", path);
        return -1;
      }
    }
  }
  log_warning ("stats: %s keeps changing; statistics disabled", path);
  return -1;
}

void
stats_map_unmap (void)
{
  if (stats_map == NULL)
    return;
  munmap (stats_map, sizeof *stats_map);
  stats_map = NULL;
}

void
stats_copy_string (char *dst, size_t dstsize, const char *src,
                   size_t srcsize)
{
  size_t n;

  /* Every caller passes a sizeof: there is always room for the '\0'. */
  assert (dstsize > 0);
  n = dstsize - 1 < srcsize ? dstsize - 1 : srcsize;

  memcpy (dst, src, n);
  dst[n] = '\0';
  dst[strnlen (dst, n)] = '\0';
}
