/* SPDX-License-Identifier: Apache-2.0 */
/* Spawned mode (the web server started imagexfer-fcgi on a socket at fd
 * 0): surviving the death of the supervisor.
 *
 * lighttpd 1.4 respawns a backend that died only if no request reaches
 * its socket before its next one-second check; a request that finds
 * the socket closed marks the backend disabled, and it is never started
 * again (503 until lighttpd restarts).  So the socket must keep being
 * served: when the supervisor dies (even SIGKILL), its workers learn it
 * (PR_SET_PDEATHSIG, SIGUSR2); between requests each tries to become
 * the new supervisor, and the one that wins (a file in state_dir that
 * one process at a time holds locked is the lock) executes
 * imagexfer-fcgi again on the same socket, which forks fresh workers.  The others
 * finish what is queued and exit.  lighttpd, finding its socket still
 * answered, does not start a second backend.  The new supervisor is not
 * the web server's child, so it exits by itself once the web server is
 * gone.
 */
#ifndef IMAGEXFER_TAKEOVER_H
#define IMAGEXFER_TAKEOVER_H

#include <stdbool.h>

/* The supervisor, in spawned mode, at start: take the lock and note the
 * web server (the parent, or the one named by the supervisor this one
 * took over from).  Returns -1 when another supervisor holds the lock
 * (this one must exit), else 0. */
int takeover_supervisor_start (int listen_fd, const char *state_dir,
                               char **argv);
/* The supervisor: whether the web server it serves has exited. */
bool takeover_web_server_gone (void);
/* A new worker, right after fork: let go of the lock, and ask for
 * SIGUSR2 when the supervisor dies (spawned mode) or SIGTERM (daemon
 * mode: systemd restarts the whole service). */
void takeover_worker_start (void);
/* A worker between requests after SIGUSR2: become the supervisor when no
 * other worker did first (does not return then); returns otherwise. */
void takeover_try (void);

#endif
