/* SPDX-License-Identifier: Apache-2.0 */
/* The read side of the shared state (stats-read.c): plain copies of the
 * shared counters for the management API and imagexferctl, and the
 * names they are shown under.
 */
#ifndef IMAGEXFER_STATS_READ_H
#define IMAGEXFER_STATS_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stats-limits.h"
#include "transfer.h"

const char *stats_method_name (enum stats_method m);
/* "all", a backend's name, "other"; NULL for a scope no backend of the
 * registry has. */
const char *stats_scope_name (enum stats_scope s);

/* Latency histogram: upper bounds in microseconds; the last bucket is
 * +Inf. */
extern const uint64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS - 1];

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

#endif
