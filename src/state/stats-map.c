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
#include "stats-sigbus.h"

struct stats_map *stats_map;
bool stats_writable;

/* Mapping. */

/* The permissions of a table this process creates (config file_mode). */
static mode_t stats_file_mode = 0640;

/* A bad state file must not fill the log with a line per request. */
struct log_limit stats_warnings = LOG_LIMIT_INIT (STATS_WARN_SECONDS);

void
stats_map_set_file_mode (unsigned mode)
{
  stats_file_mode = (mode_t) mode;
}

static bool
header_valid (const struct stats_header *h)
{
  return LOAD (h->magic) == STATS_MAGIC
    && LOAD (h->version) == STATS_VERSION
    && LOAD (h->header_size) == sizeof *h
    && LOAD (h->size) == sizeof (struct stats_map);
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

/* Open path and map it if it is a valid table.  The header is read
 * with pread and checked, with the size fstat shows, before anything is
 * mapped; the mapping is guarded against SIGBUS (stats-sigbus.c) before
 * it is first touched, and the size is checked once more after, since
 * the file may be truncated at any moment.  Returns the mapping, or NULL
 * (errno EINVAL: exists but not valid; EAGAIN: replaced meanwhile). */
static struct stats_map *
map_file (const char *path, bool *writable, struct stat *mapped)
{
  CLEANUP_CLOSE int fd = -1;
  struct stat st, st_path;
  struct stats_header h;
  struct stats_map *m;

  *writable = true;
  fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd == -1 && (errno == EACCES || errno == EROFS)) {
    *writable = false;
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  }
  if (fd == -1)
    return NULL;
  if (fstat (fd, &st) == -1)
    return NULL;
  if (!S_ISREG (st.st_mode) || st.st_size != (off_t) sizeof *m
      || pread (fd, &h, sizeof h, 0) != (ssize_t) sizeof h
      || !header_valid (&h)) {
    errno = EINVAL;
    return NULL;
  }
  m = mmap (NULL, sizeof *m, *writable ? PROT_READ | PROT_WRITE : PROT_READ,
            MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return NULL;
  stats_sigbus_guard (m, sizeof *m);
  if (fstat (fd, &st) == -1 || st.st_size != (off_t) sizeof *m
      || !header_valid (&m->header) || stats_sigbus_hit ()) {
    stats_sigbus_guard (NULL, 0);
    munmap (m, sizeof *m);
    errno = EINVAL;
    return NULL;
  }
  /* Someone may have renamed a rebuilt table over the one we opened. */
  if (stat (path, &st_path) == -1 || st_path.st_ino != st.st_ino
      || st_path.st_dev != st.st_dev) {
    stats_sigbus_guard (NULL, 0);
    munmap (m, sizeof *m);
    errno = EAGAIN;
    return NULL;
  }
  *mapped = st;
  return m;
}

/* What was mapped, to notice a file replaced, truncated or scribbled
 * on (stats_map_current), and to attach again (stats_map_reattach). */
static char map_path[PATH_MAX];
static char map_state_dir[PATH_MAX];
static bool map_create;
static struct stat map_stat;

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
    stats_warn_limited ("stats: no usable state_dir; statistics disabled");
    return -1;
  }
  /* Remembered for stats_map_reattach, which passes map_state_dir back
   * in: never copy a string onto itself. */
  if (state_dir != map_state_dir)
    snprintf (map_state_dir, sizeof map_state_dir, "%s", state_dir);
  snprintf (map_path, sizeof map_path, "%s", path);
  map_create = create;
  for (int attempt = 0; attempt < 5; attempt++) {
    struct stats_map *m = map_file (path, &writable, &map_stat);
    int why = errno;

    if (m) {
      stats_map = m;
      stats_writable = writable;
      return 0;
    }
    if (!create)
      return -1;
    if (why == EAGAIN)
      continue;                /* replaced meanwhile: map the new one */
    if (why != ENOENT && why != EINVAL) {
      stats_warn_limited ("stats: open %s: %s; statistics disabled", path,
                          strerror (why));
      return -1;
    }
    /* Missing is how every table starts; invalid is damage. */
    if (why == ENOENT)
      log_info ("stats: %s missing, building a new table", path);
    else
      stats_warn_limited ("stats: %s invalid, building a new table", path);
    if (rebuild (state_dir, path) == -1) {
      stats_warn_limited ("stats: cannot build %s: %m; statistics disabled",
                          path);
      return -1;
    }
  }
  stats_warn_limited ("stats: %s keeps changing; statistics disabled", path);
  return -1;
}

/* The mapped table is still the file at its path, whole, with a valid
 * header.  A SIGBUS caught since (a truncated file) says it is not. */
static bool
map_current (void)
{
  struct stat st;

  return !stats_sigbus_hit ()
    && stat (map_path, &st) == 0
    && st.st_ino == map_stat.st_ino && st.st_dev == map_stat.st_dev
    && st.st_size == (off_t) sizeof *stats_map
    && header_valid (&stats_map->header);
}

bool
stats_map_current (void)
{
  return stats_map != NULL && map_current ();
}

int
stats_map_reattach (void)
{
  static struct timespec last_try;
  struct timespec now;

  if (map_path[0] == '\0')
    return -1;                 /* never attached: nothing to go back to */
  if (stats_map) {
    stats_warn_limited ("stats: %s was replaced, truncated or overwritten; "
                        "mapping it again", map_path);
    stats_map_unmap ();
  }
  else {
    /* Without a table, try again at most once a second. */
    clock_gettime (CLOCK_MONOTONIC, &now);
    if (now.tv_sec == last_try.tv_sec)
      return -1;
    last_try = now;
  }
  return stats_map_attach (map_state_dir, map_create);
}

void
stats_map_unmap (void)
{
  if (stats_map == NULL)
    return;
  stats_sigbus_guard (NULL, 0);
  munmap (stats_map, sizeof *stats_map);
  stats_map = NULL;
}

/* Replace every byte that is not part of a well-formed UTF-8 sequence,
 * and every control character, with '?': the file is shared with other
 * processes (and whoever else can write it), and what is copied out of
 * it ends in JSON and logs. */
static void
sanitize_utf8 (char *s)
{
  unsigned char *p = (unsigned char *) s;

  while (*p) {
    size_t len = 0;
    uint32_t cp = 0;

    if (*p < 0x20 || *p == 0x7f) {
      *p++ = '?';
      continue;
    }
    if (*p < 0x80) {
      p++;
      continue;
    }
    if ((*p & 0xe0) == 0xc0) { len = 2; cp = *p & 0x1f; }
    else if ((*p & 0xf0) == 0xe0) { len = 3; cp = *p & 0x0f; }
    else if ((*p & 0xf8) == 0xf0) { len = 4; cp = *p & 0x07; }
    for (size_t i = 1; len && i < len; i++) {
      if ((p[i] & 0xc0) != 0x80) {
        len = 0;
        break;
      }
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not
     * UTF-8 either; C1 controls are controls. */
    if (len == 0 || (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800)
        || (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff)
        || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0)) {
      *p++ = '?';
      continue;
    }
    p += len;
  }
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
  sanitize_utf8 (dst);
}
