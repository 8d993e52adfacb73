/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration file.
 *
 * A flat "key = value" format, as in lighttpd's simpler files: it is
 * read once at start-up (and on SIGHUP), so it favours clear error
 * messages naming file, line and key over flexibility.  Every key has a
 * default; an unknown key only warns, so an older binary still starts
 * with a newer file.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "config-file.h"
#include "error.h"
#include "text-parse.h"

#define SYSTEM_CONFIG_FILE SYSCONFDIR "/imagexfer/imagexfer.conf"

void
config_defaults (struct config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->spool_dir = strdup (CONFIG_DEFAULT_SPOOL_DIR);
  cfg->state_dir = strdup (CONFIG_DEFAULT_STATE_DIR);
  cfg->log_level = LOG_LEVEL_INFO;
  cfg->workers = CONFIG_DEFAULT_WORKERS;
  cfg->chunk_size = CONFIG_DEFAULT_CHUNK_SIZE;
  cfg->sendfile = false;
  cfg->sendfile_max = CONFIG_DEFAULT_SENDFILE_MAX;
  cfg->direct_writes = true;
  cfg->backend_timeout = CONFIG_DEFAULT_BACKEND_TIMEOUT;
  cfg->backend_keep_seconds = CONFIG_DEFAULT_BACKEND_KEEP_SECONDS;
  cfg->client_timeout = CONFIG_DEFAULT_CLIENT_TIMEOUT;
  cfg->file_mode = CONFIG_DEFAULT_FILE_MODE;
  cfg->admin_tcp = CONFIG_ADMIN_TCP_NO;
  cfg->cancel_timeout = CONFIG_DEFAULT_CANCEL_TIMEOUT;
  /* ImageIO answers every browser with "*": its web UI uploads from the
   * engine's origin, and the transfer id, not a cookie, is what
   * authorizes a request, so "*" lends a page nothing it lacks. */
  cfg->cors_origins = calloc (2, sizeof *cfg->cors_origins);
  if (cfg->cors_origins)
    cfg->cors_origins[0] = strdup ("*");
}

static void
free_words (char **words)
{
  for (size_t i = 0; words && words[i]; i++)
    free (words[i]);
  free (words);
}

void
config_free (struct config *cfg)
{
  free (cfg->path);
  free (cfg->spool_dir);
  for (size_t i = 0; cfg->image_roots && cfg->image_roots[i]; i++)
    free (cfg->image_roots[i]);
  free (cfg->image_roots);
  cfg->image_roots = NULL;
  free_words (cfg->cors_origins);
  cfg->cors_origins = NULL;
  free (cfg->state_dir);
  free (cfg->log_file);
  cfg->path = cfg->spool_dir = cfg->state_dir = cfg->log_file = NULL;
}

/* Unset, a cap leaves one worker for the other transfers (none when
 * there is only one).  Computed when asked, since --workers and a
 * reload change the worker count after the file is read. */
static unsigned
default_cap (const struct config *cfg)
{
  return cfg->workers > 1 ? cfg->workers - 1 : 1;
}

unsigned
config_max_readers (const struct config *cfg)
{
  return cfg->max_readers ? cfg->max_readers : default_cap (cfg);
}

unsigned
config_max_writers (const struct config *cfg)
{
  return cfg->max_writers ? cfg->max_writers : default_cap (cfg);
}

unsigned
config_max_per_transfer (const struct config *cfg)
{
  unsigned readers = config_max_readers (cfg);
  unsigned writers = config_max_writers (cfg);

  return readers > writers ? readers : writers;
}

const char *
config_choose_path (const char *explicit_path)
{
  const char *env;

  if (explicit_path)
    return explicit_path;
  env = getenv ("IMAGEXFER_CONF");
  if (env && env[0] != '\0')
    return env;
  if (access (SYSTEM_CONFIG_FILE, F_OK) == 0)
    return SYSTEM_CONFIG_FILE;
  return NULL;
}

/* Where the current line came from, for error messages. */
struct position {
  const char *path;
  int line;
};

static int
set_path (const struct position *pos, const char *key, const char *value,
          char **out)
{
  char *copy;

  if (value[0] != '/') {
    error_set (EINVAL, "%s:%d: %s: must be an absolute path, not \"%s\"",
               pos->path, pos->line, key, value);
    return -1;
  }
  copy = strdup (value);
  if (copy == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  free (*out);
  *out = copy;
  return 0;
}

/* Directories separated by spaces, each absolute and existing; stored
 * resolved, so that a path can be compared with them as it resolves. */
static int
set_roots (const struct position *pos, const char *key, const char *value,
           struct config *cfg)
{
  CLEANUP_FREE char *copy = strdup (value);
  char **roots = NULL, *save = NULL, *dir;
  size_t n = 0;

  if (copy == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  for (dir = strtok_r (copy, " \t", &save); dir;
       dir = strtok_r (NULL, " \t", &save)) {
    char **bigger = realloc (roots, (n + 2) * sizeof *roots);

    if (bigger == NULL) {
      error_set (ENOMEM, "realloc");
      goto fail;
    }
    roots = bigger;
    roots[n] = NULL;
    if (dir[0] != '/') {
      error_set (EINVAL, "%s:%d: %s: must be absolute paths, not \"%s\"",
                 pos->path, pos->line, key, dir);
      goto fail;
    }
    if ((roots[n] = realpath (dir, NULL)) == NULL) {
      error_set (EINVAL, "%s:%d: %s: %s: %s", pos->path, pos->line, key, dir,
                 strerror (errno));
      goto fail;
    }
    roots[++n] = NULL;
  }
  if (n == 0) {
    error_set (EINVAL, "%s:%d: %s: no directory given", pos->path, pos->line,
               key);
    goto fail;
  }
  for (size_t i = 0; cfg->image_roots && cfg->image_roots[i]; i++)
    free (cfg->image_roots[i]);
  free (cfg->image_roots);
  cfg->image_roots = roots;
  return 0;

 fail:
  for (size_t i = 0; roots && roots[i]; i++)
    free (roots[i]);
  free (roots);
  return -1;
}

/* One origin as a browser sends it in Origin: scheme "http" or
 * "https", "://", a host (and port), nothing after. */
static bool
origin_valid (const char *origin)
{
  const char *host;

  if (strncmp (origin, "https://", 8) == 0)
    host = origin + 8;
  else if (strncmp (origin, "http://", 7) == 0)
    host = origin + 7;
  else
    return false;
  return host[0] != '\0' && strpbrk (host, "/?#\\@") == NULL;
}

/* "*", "none", or origins separated by spaces. */
static int
set_origins (const struct position *pos, const char *key, const char *value,
             struct config *cfg)
{
  CLEANUP_FREE char *copy = strdup (value);
  char **origins = calloc (1, sizeof *origins), *save = NULL, *word;
  size_t n = 0;

  if (copy == NULL || origins == NULL) {
    free (origins);
    error_set (ENOMEM, "strdup");
    return -1;
  }
  if (strcmp (value, "none") != 0) {
    for (word = strtok_r (copy, " \t", &save); word;
         word = strtok_r (NULL, " \t", &save)) {
      char **bigger;

      if (strcmp (word, "*") != 0 && !origin_valid (word)) {
        error_set (EINVAL, "%s:%d: %s: \"%s\" is not an origin "
                   "(\"*\", \"none\" or scheme://host[:port])",
                   pos->path, pos->line, key, word);
        free_words (origins);
        return -1;
      }
      bigger = realloc (origins, (n + 2) * sizeof *origins);
      if (bigger == NULL || (bigger[n] = strdup (word)) == NULL) {
        free_words (bigger ? bigger : origins);
        error_set (ENOMEM, "strdup");
        return -1;
      }
      origins = bigger;
      origins[++n] = NULL;
    }
  }
  free_words (cfg->cors_origins);
  cfg->cors_origins = origins;
  return 0;
}

/* A whole number from 1 to max. */
static int
set_count (const struct position *pos, const char *key, const char *value,
           unsigned max, unsigned *out)
{
  uint64_t n;
  const char *end = value;

  if (!parse_digits (&end, &n) || *end != '\0' || n < 1 || n > max) {
    error_set (EINVAL, "%s:%d: %s: must be 1-%u, not \"%s\"", pos->path,
               pos->line, key, max, value);
    return -1;
  }
  *out = (unsigned) n;
  return 0;
}

/* Bytes with an optional binary suffix (1048576, 1024K, 1M, 4MiB, 1G),
 * from min to max and a multiple of multiple. */
static int
set_size (const struct position *pos, const char *key, const char *value,
          uint64_t min, uint64_t max, uint64_t multiple, uint64_t *out)
{
  static const struct {
    const char *suffix;
    unsigned shift;
  } suffixes[] = {
    { "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
    { "G", 30 }, { "GiB", 30 },
  };
  uint64_t n;
  const char *end;
  size_t i;

  end = value;
  if (!parse_digits (&end, &n))
    goto bad;
  for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
    if (strcmp (end, suffixes[i].suffix) == 0)
      break;
  if (i == sizeof suffixes / sizeof suffixes[0])
    goto bad;
  if (n > (max >> suffixes[i].shift))
    goto range;
  n <<= suffixes[i].shift;
  if (n < min || n % multiple != 0)
    goto range;
  *out = n;
  return 0;

 bad:
  error_set (EINVAL, "%s:%d: %s: not a size in bytes "
             "(optional suffix K, KiB, M, MiB, G, GiB): \"%s\"",
             pos->path, pos->line, key, value);
  return -1;
 range:
  error_set (EINVAL, "%s:%d: %s: must be %" PRIu64 "-%" PRIu64 " bytes and "
             "a multiple of %" PRIu64 ", not \"%s\"", pos->path, pos->line,
             key, min, max, multiple, value);
  return -1;
}

static int
set_bool (const struct position *pos, const char *key, const char *value,
          bool *out)
{
  static const char *const yes[] = { "yes", "true", "on", "1" };
  static const char *const no[] = { "no", "false", "off", "0" };

  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcasecmp (value, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp (value, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  error_set (EINVAL, "%s:%d: %s: must be yes or no, not \"%s\"", pos->path,
             pos->line, key, value);
  return -1;
}

static int
set_key (const struct position *pos, const char *key, const char *value,
         struct config *cfg)
{
  if (strcmp (key, "image_roots") == 0)
    return set_roots (pos, key, value, cfg);
  if (strcmp (key, "spool_dir") == 0)
    return set_path (pos, key, value, &cfg->spool_dir);
  if (strcmp (key, "state_dir") == 0)
    return set_path (pos, key, value, &cfg->state_dir);
  if (strcmp (key, "log_file") == 0)
    return set_path (pos, key, value, &cfg->log_file);
  if (strcmp (key, "log_level") == 0) {
    if (log_level_parse (value, &cfg->log_level) == -1) {
      error_set (EINVAL, "%s:%d: log_level: must be error, warning, info or "
                 "debug, not \"%s\"", pos->path, pos->line, value);
      return -1;
    }
    return 0;
  }
  if (strcmp (key, "workers") == 0)
    return set_count (pos, key, value, CONFIG_MAX_WORKERS, &cfg->workers);
  if (strcmp (key, "chunk_size") == 0) {
    uint64_t n;

    if (set_size (pos, key, value, CONFIG_MIN_CHUNK_SIZE,
                  CONFIG_MAX_CHUNK_SIZE, 4096, &n) == -1)
      return -1;
    cfg->chunk_size = (size_t) n;
    return 0;
  }
  if (strcmp (key, "sendfile_max") == 0)
    return set_size (pos, key, value, 1, CONFIG_MAX_SENDFILE_MAX, 1,
                     &cfg->sendfile_max);
  if (strcmp (key, "sendfile") == 0)
    return set_bool (pos, key, value, &cfg->sendfile);
  if (strcmp (key, "direct_writes") == 0)
    return set_bool (pos, key, value, &cfg->direct_writes);
  if (strcmp (key, "backend_timeout") == 0)
    return set_count (pos, key, value, CONFIG_MAX_BACKEND_TIMEOUT,
                      &cfg->backend_timeout);
  if (strcmp (key, "file_mode") == 0) {
    /* Descriptors name images and the state file lists transfer ids,
     * the only credential of /images: never for other users. */
    if (strcmp (value, "0600") == 0 || strcmp (value, "600") == 0)
      cfg->file_mode = 0600;
    else if (strcmp (value, "0640") == 0 || strcmp (value, "640") == 0)
      cfg->file_mode = 0640;
    else if (strcmp (value, "0660") == 0 || strcmp (value, "660") == 0)
      cfg->file_mode = 0660;
    else {
      error_set (EINVAL, "%s:%d: %s: must be 0600, 0640 or 0660, not \"%s\"",
                 pos->path, pos->line, key, value);
      return -1;
    }
    return 0;
  }
  if (strcmp (key, "client_timeout") == 0)
    return set_count (pos, key, value, CONFIG_MAX_CLIENT_TIMEOUT,
                      &cfg->client_timeout);
  if (strcmp (key, "cors_origins") == 0)
    return set_origins (pos, key, value, cfg);
  if (strcmp (key, "admin_tcp") == 0) {
    if (strcmp (value, "no") == 0)
      cfg->admin_tcp = CONFIG_ADMIN_TCP_NO;
    else if (strcmp (value, "loopback") == 0)
      cfg->admin_tcp = CONFIG_ADMIN_TCP_LOOPBACK;
    else {
      error_set (EINVAL, "%s:%d: %s: must be no or loopback, not \"%s\"",
                 pos->path, pos->line, key, value);
      return -1;
    }
    return 0;
  }
  if (strcmp (key, "cancel_timeout") == 0) {
    uint64_t n;
    const char *end = value;

    /* 0 is allowed: answer at once, 409 if anything is in flight. */
    if (!parse_digits (&end, &n) || *end != '\0'
        || n > CONFIG_MAX_CANCEL_TIMEOUT) {
      error_set (EINVAL, "%s:%d: %s: must be 0-%u, not \"%s\"", pos->path,
                 pos->line, key, CONFIG_MAX_CANCEL_TIMEOUT, value);
      return -1;
    }
    cfg->cancel_timeout = (unsigned) n;
    return 0;
  }
  if (strcmp (key, "max_readers") == 0)
    return set_count (pos, key, value, CONFIG_MAX_WORKERS, &cfg->max_readers);
  if (strcmp (key, "max_writers") == 0)
    return set_count (pos, key, value, CONFIG_MAX_WORKERS, &cfg->max_writers);
  if (strcmp (key, "backend_keep_seconds") == 0)
    return set_count (pos, key, value, CONFIG_MAX_BACKEND_KEEP_SECONDS,
                      &cfg->backend_keep_seconds);

  log_warning ("%s:%d: ignoring unknown key \"%s\"", pos->path, pos->line,
               key);
  return 0;
}

static char *
trim (char *s)
{
  char *end;

  while (*s == ' ' || *s == '\t')
    s++;
  end = s + strlen (s);
  while (end > s && strchr (" \t\r\n", end[-1]))
    *--end = '\0';
  return s;
}

/* One line, modified in place.  A '#' starts a comment anywhere
 * outside double quotes. */
static int
parse_line (const struct position *pos, char *line, struct config *cfg)
{
  char *key, *value, *eq, *end;
  size_t keylen;

  key = trim (line);
  if (key[0] == '\0' || key[0] == '#')
    return 0;
  eq = strchr (key, '=');
  if (eq == NULL) {
    error_set (EINVAL, "%s:%d: expected \"key = value\"", pos->path,
               pos->line);
    return -1;
  }
  *eq = '\0';
  key = trim (key);
  value = trim (eq + 1);
  keylen = strspn (key, "abcdefghijklmnopqrstuvwxyz0123456789_");
  if (keylen == 0 || key[keylen] != '\0') {
    error_set (EINVAL, "%s:%d: bad key \"%s\"", pos->path, pos->line, key);
    return -1;
  }

  if (value[0] == '"') {
    end = strchr (value + 1, '"');
    if (end == NULL) {
      error_set (EINVAL, "%s:%d: %s: unterminated quoted value", pos->path,
                 pos->line, key);
      return -1;
    }
    *end = '\0';
    value++;
    end = trim (end + 1);
    if (end[0] != '\0' && end[0] != '#') {
      error_set (EINVAL, "%s:%d: %s: junk after the quoted value", pos->path,
                 pos->line, key);
      return -1;
    }
  }
  else {
    end = strchr (value, '#');
    if (end) {
      *end = '\0';
      value = trim (value);
    }
  }
  if (value[0] == '\0') {
    error_set (EINVAL, "%s:%d: %s: missing value", pos->path, pos->line, key);
    return -1;
  }
  return set_key (pos, key, value, cfg);
}

/* The defaults, or -1 (ENOMEM) with cfg left freed. */
static int
config_start (struct config *cfg)
{
  config_defaults (cfg);
  if (cfg->spool_dir == NULL || cfg->state_dir == NULL
      || cfg->cors_origins == NULL || cfg->cors_origins[0] == NULL) {
    config_free (cfg);
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

int
config_parse_stream (FILE *fp, const char *name, struct config *cfg)
{
  CLEANUP_FREE char *line = NULL;
  size_t size = 0;
  struct position pos = { .path = name, .line = 0 };
  int r = 0;

  if (config_start (cfg) == -1)
    return -1;
  while (getline (&line, &size, fp) != -1) {
    pos.line++;
    if (parse_line (&pos, line, cfg) == -1) {
      r = -1;
      break;
    }
  }
  if (r == 0 && ferror (fp)) {
    error_set (EIO, "%s: read error", name);
    r = -1;
  }
  if (r == -1)
    config_free (cfg);
  return r;
}

int
config_load (const char *path, struct config *cfg)
{
  FILE *fp;
  int r;

  if (path == NULL)
    return config_start (cfg);

  fp = fopen (path, "re");
  if (fp == NULL) {
    int saved_errno = errno;

    memset (cfg, 0, sizeof *cfg);
    error_set (saved_errno, "%s: %s", path, strerror (saved_errno));
    return -1;
  }
  r = config_parse_stream (fp, path, cfg);
  fclose (fp);

  if (r == 0 && (cfg->path = strdup (path)) == NULL) {
    config_free (cfg);
    error_set (ENOMEM, "strdup");
    r = -1;
  }
  return r;
}
