/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "descriptor-cache.h"

/* A worker serves a few transfers at a time; descriptors are a few
 * hundred bytes.  Larger ones are read every time. */
#define CACHE_ENTRIES 8
#define CACHE_TEXT_MAX 16384

struct cache_entry {
  char *path;
  char *text;
  size_t length;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
};

static struct cache_entry entries[CACHE_ENTRIES];
static size_t next_victim;

static bool
same_time (struct timespec a, struct timespec b)
{
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool
same_file (const struct cache_entry *e, const struct stat *st)
{
  return e->dev == st->st_dev && e->ino == st->st_ino
         && e->size == st->st_size && same_time (e->mtime, st->st_mtim)
         && same_time (e->ctime, st->st_ctim);
}

static struct cache_entry *
entry_of (const char *path)
{
  for (size_t i = 0; i < CACHE_ENTRIES; i++)
    if (entries[i].path && strcmp (entries[i].path, path) == 0)
      return &entries[i];
  return NULL;
}

const char *
descriptor_cache_find (const char *path, struct stat *st, size_t *length)
{
  struct cache_entry *e = entry_of (path);

  if (!e || lstat (path, st) == -1 || !S_ISREG (st->st_mode)
      || !same_file (e, st))
    return NULL;
  *length = e->length;
  return e->text;
}

void
descriptor_cache_keep (const char *path, const struct stat *st,
                       const char *text, size_t length)
{
  struct cache_entry *e = entry_of (path);
  struct timespec now;
  char *path_copy, *text_copy;

  if (length > CACHE_TEXT_MAX || clock_gettime (CLOCK_REALTIME, &now) == -1
      || st->st_ctim.tv_sec + 1 >= now.tv_sec)
    return;
  path_copy = strdup (path);
  text_copy = malloc (length + 1);
  if (!path_copy || !text_copy) {
    free (path_copy);
    free (text_copy);
    return;
  }
  memcpy (text_copy, text, length);
  text_copy[length] = '\0';
  if (!e) {
    e = &entries[next_victim];
    next_victim = (next_victim + 1) % CACHE_ENTRIES;
  }
  free (e->path);
  free (e->text);
  *e = (struct cache_entry) {
    .path = path_copy, .text = text_copy, .length = length,
    .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
    .mtime = st->st_mtim, .ctime = st->st_ctim,
  };
}
