/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration file (src/config/config.c): config_parse_stream on
 * any text, as config_load calls it on the opened file.  What it accepts
 * must be within the documented limits. */
#include <config.h>

#include <stdio.h>

#include "config-file.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  log_set_level (LOG_LEVEL_ERROR);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct config cfg;
  FILE *fp;

  /* fmemopen refuses an empty buffer; an empty file is the defaults. */
  if (size == 0)
    return 0;
  fp = fmemopen ((void *) data, size, "r");
  if (fp == NULL)
    return 0;
  if (config_parse_stream (fp, "fuzz.conf", &cfg) == 0) {
    FUZZ_ASSERT (cfg.spool_dir && cfg.spool_dir[0] == '/');
    FUZZ_ASSERT (cfg.state_dir && cfg.state_dir[0] == '/');
    FUZZ_ASSERT (cfg.workers >= 1 && cfg.workers <= CONFIG_MAX_WORKERS);
    FUZZ_ASSERT (cfg.chunk_size >= CONFIG_MIN_CHUNK_SIZE
                 && cfg.chunk_size <= CONFIG_MAX_CHUNK_SIZE);
    FUZZ_ASSERT (cfg.client_timeout <= CONFIG_MAX_CLIENT_TIMEOUT);
    FUZZ_ASSERT (cfg.backend_timeout <= CONFIG_MAX_BACKEND_TIMEOUT);
    FUZZ_ASSERT (cfg.sendfile_max <= CONFIG_MAX_SENDFILE_MAX);
    config_free (&cfg);
  }
  fclose (fp);
  return 0;
}
