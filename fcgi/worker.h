/* SPDX-License-Identifier: Apache-2.0 */
/* A worker process: accepts one FastCGI request at a time and serves it
 * start to finish. */
#ifndef IMAGEXFER_WORKER_H
#define IMAGEXFER_WORKER_H

#include "config-file.h"

/* Serve requests on listen_fd until SIGTERM (the request in flight is
 * finished first).  Returns the process exit status. */
int worker_run (int listen_fd, const struct config *cfg);

#endif
