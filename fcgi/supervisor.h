/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor: preforks workers on one listening socket, replaces the
 * ones that die, drains them on SIGTERM, reloads config on SIGHUP. */
#ifndef IMAGEXFER_SUPERVISOR_H
#define IMAGEXFER_SUPERVISOR_H

#include "config-file.h"

struct supervisor_options {
  const char *config_path;     /* chosen config file, or NULL */
  int workers_override;        /* --workers, or 0 */
  bool exit_with_parent;       /* spawned by the web server */
  const char *listen_path;     /* --listen unix socket path, or NULL */
  char **argv;                 /* the command line, to take over with */
};

/* Runs until SIGTERM; cfg is the loaded config (reloaded in place on
 * SIGHUP).  Returns the process exit status. */
int supervisor_run (int listen_fd, struct config *cfg,
                    const struct supervisor_options *options);

#endif
