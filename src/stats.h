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
 */
#ifndef IMAGEXFER_STATS_H
#define IMAGEXFER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "transfer.h"

/* Map (creating or rebuilding when missing or corrupt) the table in
 * state_dir.  Returns 0, or -1 after logging why (then a no-op). */
int stats_attach (const char *state_dir);
/* Map an existing, valid table and never create or rebuild it (the
 * operator's tool).  Read-write when permitted, else read-only (then
 * every update is a no-op).  Returns 0, or -1 when there is none. */
int stats_attach_existing (const char *state_dir);
/* Unmap; a worker's slot is released first. */
void stats_detach (void);
bool stats_attached (void);

/* The data path's hooks, called by the worker serving a request.
 * transfer_id and backend may be NULL (a request with no transfer). */
void stats_request_begin (const char *transfer_id, const char *backend,
                          const char *method, uint64_t offset);
void stats_request_progress (uint64_t bytes, bool is_write);
void stats_request_end (int http_status);
/* The request in flight was refused because its transfer is closed
 * (lifecycle_check): it still counts as a request, but not as activity
 * on the transfer, which would restart an idle or sliding timeout and
 * reopen it. */
void stats_request_refused (void);

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

/* Management: the API and imagexferctl.
 *
 * stats_transfer_cancelled: the transfer's spool file was removed
 * (DELETE, imagexferctl cancel, or a request noticing it mid-way).
 * Marks the entry so status can say "cancelled" after the file is gone,
 * and records the event once.
 *
 * stats_transfer_installed: spool_install put a descriptor in place.  A
 * new transfer starts with zeroed counters and marks; a replaced one is
 * the same transfer updated (ImageIO's ticket extend): its counters
 * carry on, its "cancelled" and "expired" marks are cleared.
 *
 * stats_transfer_renew: the descriptor in the spool was written at
 * descriptor_mtime_ns (st_mtim).  An entry older than that counted an
 * earlier transfer under the same id, re-created by rename: its counters
 * and marks restart, unless requests of other workers are in flight on
 * it (they carry on with the new descriptor, so it is the same transfer
 * extended).  Returns false only when the entry is an older transfer's
 * and the table is read-only: its counters are not this transfer's. */
void stats_transfer_cancelled (const char *transfer_id);
void stats_transfer_installed (const char *transfer_id, bool replaced);
bool stats_transfer_renew (const char *transfer_id,
                           int64_t descriptor_mtime_ns);
/* True the first time it is called for an entry (so "expired" is
 * recorded once per transfer), and always when there is no table. */
bool stats_transfer_note_expired (const char *transfer_id);
/* True while this process is serving a request for transfer_id (its
 * own request is not "someone else's activity" for lifecycle rules). */
bool stats_request_in_flight_for (const char *transfer_id);

/* Read side: plain copies of the shared counters. */
enum stats_method {
  STATS_METHOD_GET, STATS_METHOD_HEAD, STATS_METHOD_PUT, STATS_METHOD_PATCH,
  STATS_METHOD_POST, STATS_METHOD_OPTIONS, STATS_METHOD_DELETE,
  STATS_METHOD_OTHER,
  STATS_METHOD_COUNT
};
const char *stats_method_name (enum stats_method m);

/* Global counters are kept for all requests and per backend type. */
enum stats_scope {
  STATS_SCOPE_ALL, STATS_SCOPE_FILE, STATS_SCOPE_NBD, STATS_SCOPE_OTHER,
  STATS_SCOPE_COUNT
};
const char *stats_scope_name (enum stats_scope s);

/* Latency histogram: upper bounds in microseconds; the last bucket is
 * +Inf. */
#define STATS_LATENCY_BUCKETS 13
extern const uint64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS - 1];

/* Status codes 100-599 are counted exactly; anything else (0 for a
 * response that never started) in code 0. */
#define STATS_STATUS_MIN 100
#define STATS_STATUS_MAX 599

struct stats_global_info {
  uint64_t requests;                          /* completed */
  uint64_t by_method[STATS_METHOD_COUNT];
  uint64_t by_status[STATS_STATUS_MAX + 1];   /* [0]: other */
  uint64_t bytes_read, bytes_written;
  uint64_t errors;                            /* status >= 400 or 0 */
  uint64_t in_flight;
  uint64_t latency[STATS_LATENCY_BUCKETS];    /* not cumulative */
  uint64_t latency_sum_us;
};

struct stats_transfer_info {
  char id[TRANSFER_ID_MAX + 1];
  uint64_t bytes_read, bytes_written;
  /* Distinct bytes read or written, in any order (stats-ranges.c).
   * Exact while transferred_exact; else approximate: an upper bound
   * when more than STATS_RANGES separate ranges were touched or a
   * worker could not take the lock, lower only if a worker died while
   * updating the ranges. */
  uint64_t transferred;
  bool transferred_exact;
  uint64_t requests, errors;
  uint32_t in_flight;
  bool cancelled;
  int64_t first_seen_ms;     /* Unix ms of the first request */
  int64_t since_ns;          /* Unix ns the counters (re)started */
  int64_t last_activity_ms;  /* Unix ms: last request end or progress */
};

struct stats_slot_info {
  pid_t pid;
  bool in_flight;
  char transfer_id[TRANSFER_ID_MAX + 1];   /* "" when none */
  char method[8];
  char backend[8];
  uint64_t offset, bytes;
  int64_t start_ms;          /* Unix ms when the request began */
};

struct stats_daemon_info {
  pid_t supervisor_pid;
  int64_t start_time;        /* Unix seconds, 0 when unknown */
  unsigned workers;
  uint64_t generation;       /* changes when the table is rebuilt */
};

int stats_global (enum stats_scope scope, struct stats_global_info *out);
int stats_daemon (struct stats_daemon_info *out);
/* Returns 0 and fills out, or -1 when the id has no entry. */
int stats_transfer (const char *transfer_id, struct stats_transfer_info *out);
/* Calls fn for every transfer entry; stops when fn returns non-zero. */
void stats_transfer_foreach (int (*fn) (const struct stats_transfer_info *,
                                        void *),
                             void *opaque);
/* Copies slots in use (pid set) into out; returns how many. */
size_t stats_slots (struct stats_slot_info *out, size_t max);
#define STATS_SLOTS 512

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t stats_now_ms (void);

#endif
