/* SPDX-License-Identifier: Apache-2.0 */
/* Whether the directories the configuration names can be used: checked
 * at start (a missing spool otherwise starts without a word, every
 * request 404) and reported by GET /api/v1/daemon should one go later. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-file.h"

bool
config_directory_usable (const char *path, char *why, size_t size)
{
  struct stat st;

  if (stat (path, &st) == -1) {
    snprintf (why, size, "%s", strerror (errno));
    return false;
  }
  if (!S_ISDIR (st.st_mode)) {
    snprintf (why, size, "not a directory");
    return false;
  }
  /* Read and search: every request; write: the management API, the
   * control planes and the shared state table. */
  if (access (path, R_OK | W_OK | X_OK) == -1) {
    snprintf (why, size, "not readable and writable: %s", strerror (errno));
    return false;
  }
  why[0] = '\0';
  return true;
}

int
config_check_directories (const struct config *cfg, char *why, size_t size)
{
  const struct { const char *key, *path; } dirs[] = {
    { "spool_dir", cfg->spool_dir }, { "state_dir", cfg->state_dir },
  };
  char reason[256];

  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if (config_directory_usable (dirs[i].path, reason, sizeof reason))
      continue;
    if (cfg->path)
      snprintf (why, size, "%s %s: %s (config key %s in %s)", dirs[i].key,
                dirs[i].path, reason, dirs[i].key, cfg->path);
    else
      snprintf (why, size, "%s %s: %s (config key %s: the built-in "
                "default, no configuration file was read)", dirs[i].key,
                dirs[i].path, reason, dirs[i].key);
    return -1;
  }
  return 0;
}
