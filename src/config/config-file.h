/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration file: "key = value" lines, '#' comments.
 *
 * Chosen with --config PATH, else the IMAGEXFER_CONF environment
 * variable, else SYSCONFDIR/imagexfer/imagexfer.conf when it exists, else
 * the built-in defaults below (which work out of the box).
 */
#ifndef IMAGEXFER_CONFIG_FILE_H
#define IMAGEXFER_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

/* The directories configure was told (--localstatedir, --runstatedir):
 * /var/lib/imagexfer/spool and /run/imagexfer for a system build. */
#define CONFIG_DEFAULT_SPOOL_DIR LOCALSTATEDIR "/lib/imagexfer/spool"
#define CONFIG_DEFAULT_STATE_DIR RUNSTATEDIR "/imagexfer"
#define CONFIG_DEFAULT_WORKERS 8
#define CONFIG_DEFAULT_CHUNK_SIZE (4u * 1024 * 1024)
#define CONFIG_MIN_CHUNK_SIZE (64u * 1024)
#define CONFIG_MAX_CHUNK_SIZE (32u * 1024 * 1024)
#define CONFIG_MAX_WORKERS 256
#define CONFIG_DEFAULT_BACKEND_TIMEOUT 60
#define CONFIG_MAX_BACKEND_TIMEOUT 3600
#define CONFIG_DEFAULT_BACKEND_KEEP_SECONDS 30
#define CONFIG_DEFAULT_CLIENT_TIMEOUT 120
#define CONFIG_DEFAULT_FILE_MODE 0640
#define CONFIG_MAX_CLIENT_TIMEOUT 3600
#define CONFIG_DEFAULT_SENDFILE_MAX (UINT64_C (64) * 1024 * 1024)
#define CONFIG_MAX_SENDFILE_MAX (UINT64_C (1) << 50)
#define CONFIG_MAX_BACKEND_KEEP_SECONDS 3600
#define CONFIG_DEFAULT_CANCEL_TIMEOUT 30
#define CONFIG_MAX_CANCEL_TIMEOUT 3600

/* Who may use the administrator's routes (/api, /tickets) when they
 * arrive on a TCP listener rather than on the admin socket. */
enum config_admin_tcp {
  CONFIG_ADMIN_TCP_NO,         /* nobody: 403 */
  CONFIG_ADMIN_TCP_LOOPBACK,   /* loopback peer, local Host, no foreign Origin */
};

struct config {
  char *path;            /* the file read, or NULL for built-in defaults */
  char *spool_dir;       /* transfer descriptors: <id>.json */
  char *state_dir;       /* shared state table, events */
  char *log_file;        /* log here instead of stderr, or NULL */
  enum log_level log_level;
  unsigned workers;      /* prefork worker processes */
  size_t chunk_size;     /* bytes per backend read/write while streaming */
  bool sendfile;         /* file downloads through X-Sendfile2 */
  uint64_t sendfile_max; /* larger ranges are streamed (cancellable) */
  bool direct_writes;    /* large file writes around the page cache */
  unsigned backend_timeout; /* seconds an NBD server may stay silent */
  unsigned backend_keep_seconds; /* an idle kept NBD connection closes */
  unsigned client_timeout; /* seconds a request body or response may stall */
  /* Per-transfer caps on requests in flight that read / write the
   * image; 0: unset (config_max_readers and config_max_writers say what
   * applies). */
  unsigned max_readers, max_writers;
  unsigned file_mode;    /* of the files the server writes: 0600/0640/0660 */
  /* Directories file images must be in, resolved (no symbolic links),
   * NULL-terminated; NULL when not set (only /api is then refused file
   * transfers). */
  char **image_roots;
  enum config_admin_tcp admin_tcp;
  /* Origins allowed to script /images from a browser (CORS): "*" or
   * "scheme://host[:port]" words, NULL-terminated; an empty list for
   * none. */
  char **cors_origins;
  unsigned cancel_timeout; /* seconds DELETE /tickets waits for requests */
};

/* Fill cfg with the built-in defaults. */
void config_defaults (struct config *cfg);

/* The per-transfer caps in force: max_readers and max_writers, or when
 * unset one less than the workers (at least 1); and the cap on both
 * together, the larger of the two, so one transfer's mixed reads and
 * writes still leave a worker for others. */
unsigned config_max_readers (const struct config *cfg);
unsigned config_max_writers (const struct config *cfg);
unsigned config_max_per_transfer (const struct config *cfg);

/* Resolve which file to read: explicit path, else $IMAGEXFER_CONF, else
 * the system file if it exists; NULL means defaults only. */
const char *config_choose_path (const char *explicit_path);

/* Load defaults, then the file at path (NULL: defaults only).  On error
 * returns -1 with error_set naming the file, line and key. */
int config_load (const char *path, struct config *cfg);

/* What config_load does once the file is open: defaults, then every
 * line of fp; name stands for the file in messages.  cfg->path is left
 * NULL.  Same errors; reads nothing but fp (and, for image_roots, the
 * directories it names). */
int config_parse_stream (FILE *fp, const char *name, struct config *cfg);

void config_free (struct config *cfg);

/* Whether path is a directory this process may read, search and write;
 * when not, why says so ("No such file or directory", "not a
 * directory", ...). */
bool config_directory_usable (const char *path, char *why, size_t size);

/* config_directory_usable for spool_dir and state_dir: -1 with why
 * naming the first unusable one, its path and its config key. */
int config_check_directories (const struct config *cfg, char *why,
                              size_t size);

#endif
