/* SPDX-License-Identifier: Apache-2.0 */
/* Worker slots in the shared table (stats-slots.c): each worker claims
 * one and describes its request in flight there; the supervisor frees
 * the slots of workers that died.
 */
#ifndef IMAGEXFER_STATS_SLOTS_H
#define IMAGEXFER_STATS_SLOTS_H

#include <sys/types.h>

struct stats_slot;

/* Supervisor and workers.
 *
 * stats_supervisor_start: the supervisor, once after stats_attach:
 * records its pid, start time and worker count for /api/v1/daemon and
 * frees slots left by dead processes of an earlier run.
 *
 * stats_worker_register: a worker, once after fork: claims a free slot
 * (CAS on the pid).  Optional: the first stats_request_begin claims one
 * too.  Returns 0, or -1 (no table, or every slot taken).
 *
 * stats_worker_exited: the supervisor, for every reaped worker, with
 * its waitpid status: frees its slot; a request it had in flight no
 * longer counts as in flight (and an event says which transfer lost it
 * and how the worker died). */
void stats_supervisor_start (unsigned workers);
int stats_worker_register (void);
void stats_worker_exited (pid_t pid, int wait_status);

/* Inside the shared state's modules: this process's slot (NULL when it
 * has none: never registered, or forked from the process that did); and
 * giving it back before unmapping. */
struct stats_slot *stats_slot_mine (void);
void stats_slot_release_mine (void);

#endif
