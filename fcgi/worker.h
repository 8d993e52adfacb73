/* SPDX-License-Identifier: Apache-2.0 */
/* A worker process: accepts one FastCGI request at a time and serves it
 * start to finish. */
#ifndef IMAGEXFER_WORKER_H
#define IMAGEXFER_WORKER_H

#include "config-file.h"

/* Serve requests on listen_fd until SIGTERM (the request in flight is
 * finished first).  handoff_fd: an eventfd shared by the workers, through
 * which one passes a new connection's wake-up on to another
 * (connection-wait.h), or -1.  Returns the process exit status. */
int worker_run (int listen_fd, int handoff_fd, const struct config *cfg);

#endif
