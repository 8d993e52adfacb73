/* SPDX-License-Identifier: Apache-2.0 */
/* The bottom layer of the shared state: the layout of the file
 * <state_dir>/stats and its mapping.  Private to stats*.c and events.c:
 * everything else goes through stats.h and events.h.  It knows nothing
 * of the modules built on it (stats.c, stats-*.c, events.c), so it
 * includes neither stats.h nor events.h and never calls them.
 *
 * Fixed size; every field is naturally aligned and only touched with
 * __atomic builtins (strings under a per-record sequence number). A
 * change of layout bumps STATS_VERSION: old files are then rebuilt.
 */
#ifndef IMAGEXFER_STATS_MAP_H
#define IMAGEXFER_STATS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log-limited.h"
#include "stats-limits.h"
#include "transfer.h"

#define STATS_MAGIC 0x31535441545358ULL   /* "XSTATS1" little-endian-ish */
#define STATS_VERSION 4
#define STATS_TRANSFERS 4096               /* power of two */
/* stats-entry.c probes its hash chain with & (STATS_TRANSFERS - 1). */
_Static_assert ((STATS_TRANSFERS & (STATS_TRANSFERS - 1)) == 0,
                "STATS_TRANSFERS must be a power of two");

struct stats_header {
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint64_t size;               /* of the whole file */
  uint64_t generation;         /* random, set when built */
  int64_t supervisor_start;    /* Unix seconds */
  int32_t supervisor_pid;
  uint32_t workers;
  uint64_t events_next;        /* sequence number of the next event */
  uint64_t reserved[8];
};

/* A worker's slot.  Only its owner writes it (plus the supervisor after
 * the owner died); seq is odd while the strings are being written. */
struct stats_slot {
  int32_t pid;                 /* 0: free; claimed by CAS */
  uint32_t in_flight;
  uint64_t seq;
  uint32_t entry;              /* transfer entry index + 1, 0 none */
  uint32_t scope;              /* enum stats_scope of the request */
  uint32_t role;               /* enum stats_role the request counts as */
  uint32_t pad;
  char transfer_id[TRANSFER_ID_MAX + 8];
  char method[8];
  char backend[8];
  uint64_t offset;
  uint64_t bytes;
  int64_t start_ms;
};

enum {
  ENTRY_EMPTY = 0,
  ENTRY_CLAIMING = 1,          /* key being written */
  ENTRY_READY = 2,
};
#define ENTRY_FLAG_CANCELLED 1u
#define ENTRY_FLAG_EXPIRED_REPORTED 2u
#define ENTRY_FLAG_INEXACT 4u          /* transferred is approximate */

/* Distinct bytes touched (stats-ranges.c): a bounded set of merged byte
 * ranges per transfer. */
#define STATS_RANGES 16
struct stats_range {
  uint64_t start, end;         /* [start, end) */
};

struct stats_entry {
  uint32_t state;              /* ENTRY_*; EMPTY -> CLAIMING by CAS */
  uint32_t in_flight;
  uint32_t flags;              /* ENTRY_FLAG_* */
  int32_t ranges_lock;         /* pid updating ranges, 0 free; by CAS */
  char id[TRANSFER_ID_MAX + 8];
  uint64_t bytes_read, bytes_written;
  uint64_t transferred;        /* sum of ranges, published under the lock */
  uint64_t unmerged;           /* bytes counted without the lock */
  uint64_t requests, errors;
  int64_t first_seen_ms, last_activity_ms;
  int64_t since_ns;            /* Unix ns the counters (re)started */
  uint32_t nranges;            /* under ranges_lock */
  uint32_t pad;
  /* Requests in flight that read or write the image (the per-transfer
   * caps, stats-admit.c), and both together. */
  uint32_t readers, writers, data_requests;
  uint32_t pad2;
  struct stats_range ranges[STATS_RANGES];
};

struct stats_counters {
  uint64_t requests;
  uint64_t by_method[STATS_METHOD_COUNT];
  uint64_t by_status[STATS_STATUS_MAX + 1];
  uint64_t bytes_read, bytes_written;
  uint64_t errors;
  uint64_t in_flight;
  uint64_t latency[STATS_LATENCY_BUCKETS];
  uint64_t latency_sum_us;
};

struct stats_event {
  uint64_t seq;                /* event number + 1; 0 while written */
  int64_t time_ms;
  uint32_t level;
  uint32_t pad;
  char transfer_id[TRANSFER_ID_MAX + 8];
  char message[EVENTS_MESSAGE_MAX];
};

struct stats_map {
  struct stats_header header;
  struct stats_counters counters[STATS_SCOPE_COUNT];
  struct stats_slot slots[STATS_SLOTS];
  struct stats_entry entries[STATS_TRANSFERS];
  struct stats_event events[EVENTS_RING];
};

#define ADD(field, n) __atomic_add_fetch (&(field), (n), __ATOMIC_RELAXED)
#define SUB(field, n) __atomic_sub_fetch (&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n (&(field), __ATOMIC_ACQUIRE)
#define STORE(field, v) __atomic_store_n (&(field), (v), __ATOMIC_RELEASE)
#define CAS(field, expected, v) \
  __atomic_compare_exchange_n (&(field), (expected), (v), false, \
                               __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define SET_FLAGS(field, bits) \
  __atomic_fetch_or (&(field), (bits), __ATOMIC_ACQ_REL)

/* The mapping, or NULL; and whether we may write to it. */
extern struct stats_map *stats_map;
extern bool stats_writable;

/* Map the table in state_dir: with create, build it afresh when it is
 * missing or not valid; without, only an existing valid one (read-only
 * when we may not write it).  Returns 0 (also when already mapped), or
 * -1: logged, but for a table that is not there without create. */
int stats_map_attach (const char *state_dir, bool create);
/* The permissions of a table created from now on (default 0640). */
void stats_map_set_file_mode (unsigned mode);
/* Is the mapped table still the file at state_dir/stats, whole and
 * valid?  False when it was replaced, deleted, truncated (a SIGBUS
 * caught meanwhile counts) or its header overwritten, and when nothing
 * is mapped. */
bool stats_map_current (void);
/* Unmap the table and attach again as the last stats_map_attach did,
 * which may rebuild it; without a table, at most once a second.  Every
 * pointer into the old mapping dies: call only between requests, after
 * giving back what this process holds there.  Returns 0 or -1. */
int stats_map_reattach (void);
/* A warning about the state file, at most one per STATS_WARN_SECONDS
 * (the others are counted and the count shown with the next one). */
#define STATS_WARN_SECONDS 10
extern struct log_limit stats_warnings;
#define stats_warn_limited(...) \
  log_warning_limited (&stats_warnings, __VA_ARGS__)
/* Unmap.  Whatever this process holds in the table (its slot, its
 * request in flight) must have been given back before. */
void stats_map_unmap (void);

/* Copy a string field written by another process: bounded, always
 * terminated, valid UTF-8 without control characters (anything else
 * becomes '?'). */
void stats_copy_string (char *dst, size_t dstsize, const char *src,
                        size_t srcsize);

#endif
