/* SPDX-License-Identifier: Apache-2.0 */
/* Shared state: a memory-mapped table in state_dir that every worker and
 * the supervisor map (DESIGN.md).  Per-worker slots describe the request
 * in flight; per-transfer counters feed status, idle timeouts, metrics.
 *
 * Every function here is safe to call when the table could not be
 * mapped: statistics are never worth failing a transfer for.
 *
 * Concurrency: atomic operations on the mapped memory.  A worker owns
 * its slot (claimed by a CAS on the pid); transfer entries are claimed
 * by a CAS on their state word and then updated with atomic adds, but
 * for the set of byte ranges behind "transferred", which has a tiny spin
 * lock that a crashed worker cannot wedge (stats-ranges.c).
 *
 * This is the family's public header.  Its modules are layers, each
 * using only those listed below it and none of them this header:
 *
 *   stats.c         attaching, the data path's hooks (here)
 *   stats-read.c    plain copies for the API and the tool (stats-read.h)
 *   stats-slots.c   worker slots (stats-slots.h)
 *   stats-entry.c   transfer entries (stats-entry.h)
 *   events.c        the event ring (events.h, included on its own)
 *   stats-ranges.c  "transferred" (stats-ranges.h, private)
 *   stats-map.c     the file's layout and mapping (stats-map.h, private)
 *   stats-clock.c   the clock (stats-clock.h); sizes in stats-limits.h
 */
#ifndef IMAGEXFER_STATS_H
#define IMAGEXFER_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "stats-clock.h"
#include "stats-entry.h"
#include "stats-limits.h"
#include "stats-read.h"
#include "stats-slots.h"

/* Map (creating or rebuilding when missing or corrupt) the table in
 * state_dir.  Returns 0, or -1 after logging why (then a no-op). */
/* The permissions of a state file this process creates (config
 * file_mode), whatever the umask; call before stats_attach. */
void stats_set_file_mode (unsigned mode);
int stats_attach (const char *state_dir);
/* Map an existing, valid table and never create or rebuild it (the
 * operator's tool).  Read-write when permitted, else read-only (then
 * every update is a no-op).  Returns 0, or -1 when there is none. */
int stats_attach_existing (const char *state_dir);
/* Between requests (workers) and periodically (the supervisor): when
 * the table was replaced, deleted, truncated or overwritten, map a
 * valid one again, rebuilding it if need be (a truncated file never
 * kills the process: see stats-sigbus.h).  Returns 0 when the mapping
 * is unchanged, 1 when a table was mapped anew, -1 when there is none
 * (tried again at most once a second). */
int stats_refresh (void);
/* Unmap; a worker's slot is released first. */
void stats_detach (void);
bool stats_attached (void);

/* The data path's hooks, called by the worker serving a request.
 * transfer_id and backend may be NULL (a request with no transfer). */
void stats_request_begin (const char *transfer_id, const char *backend,
                          const char *method, uint64_t offset);
void stats_request_progress (uint64_t bytes, bool is_write);
void stats_request_end (int http_status);
/* The per-transfer caps (config max_readers, max_writers): the request
 * in flight reads (writer false) or writes the image of its transfer.
 * Counts it until stats_request_end, unless max requests of its kind or
 * max_total of both are in flight on the transfer already: then false.
 * A worker that dies is counted out by the supervisor.  Without a
 * writable table nothing is counted and every request is admitted. */
bool stats_request_claim (bool writer, unsigned max, unsigned max_total);
/* Count the request in flight out of the caps now, before it ends: its
 * answer is complete for the client, who may send the next request
 * before this one has closed its backend.  Nothing when not counted. */
void stats_request_unclaim (void);
/* The request in flight was refused because its transfer is closed
 * (lifecycle_check): it still counts as a request, but not as activity
 * on the transfer, which would restart an idle or sliding timeout and
 * reopen it. */
void stats_request_refused (void);

/* stats_transfer_renew: the descriptor in the spool was written at
 * descriptor_mtime_ns (st_mtim).  An entry older than that counted an
 * earlier transfer under the same id, re-created by rename: its counters
 * and marks restart, unless requests of other workers are in flight on
 * it (they carry on with the new descriptor, so it is the same transfer
 * extended).  Returns false only when the entry is an older transfer's
 * and the table is read-only: its counters are not this transfer's. */
bool stats_transfer_renew (const char *transfer_id,
                           int64_t descriptor_mtime_ns);
/* True while this process is serving a request for transfer_id (its
 * own request is not "someone else's activity" for lifecycle rules). */
bool stats_request_in_flight_for (const char *transfer_id);

#endif
