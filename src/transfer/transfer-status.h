/* SPDX-License-Identifier: Apache-2.0 */
/* The status of a transfer as operators see it: state, counters, idle
 * time, effective expiry.  Computed here once for both the management
 * API (GET /api/v2/transfers[/<id>]) and imagexferctl (list, show,
 * watch), so the two never disagree.
 */
#ifndef IMAGEXFER_TRANSFER_STATUS_H
#define IMAGEXFER_TRANSFER_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "stats.h"
#include "transfer.h"

enum transfer_state {
  TRANSFER_STATE_READY,       /* valid, open, nothing in flight */
  TRANSFER_STATE_ACTIVE,      /* requests in flight */
  TRANSFER_STATE_EXPIRED,     /* expires, timeout or idle timeout passed */
  TRANSFER_STATE_CANCELLED,   /* spool file removed; known from the table */
  TRANSFER_STATE_INVALID,     /* the spool file fails validation */
  TRANSFER_STATE_ABSENT,      /* nothing known */
  TRANSFER_STATE_COUNT,
};

struct transfer_status {
  char id[TRANSFER_ID_MAX + 1];
  enum transfer_state state;
  char reason[256];           /* invalid: why; expired: which rule */
  bool valid;                 /* t is filled */
  struct transfer t;
  bool has_stats;             /* stats is filled */
  struct stats_transfer_info stats;
  int64_t idle_time;          /* seconds; 0 while active */
  int64_t expires;            /* Unix seconds it closes, -1 never */
};

/* Read <spool_dir>/<id>.json and the shared counters.  Returns 0 (st
 * filled; state ABSENT when there is neither a file nor counters), or
 * -1 with error_set for an invalid id or an I/O error on the spool. */
int transfer_status_get (const char *spool_dir, const char *id,
                         int64_t now_ms, struct transfer_status *st);
void transfer_status_free (struct transfer_status *st);

/* Calls fn for every transfer operators see, in the order of the list:
 * each "<id>.json" in the spool (sorted; invalid ones too), then those
 * cancelled recently, whose file is gone but whose counters the shared
 * table still has.  Stops when fn returns non-zero.  Returns 0, or -1
 * with error_set when the spool cannot be listed. */
int transfer_status_foreach (const char *spool_dir, int64_t now_ms,
                             int (*fn) (const struct transfer_status *st,
                                        void *opaque),
                             void *opaque);

/* How many transfers are in each state, as transfer_status_foreach
 * sees them (counts[TRANSFER_STATE_ABSENT] stays 0).  Returns 0, or -1
 * with error_set when the spool cannot be listed. */
int transfer_status_count (const char *spool_dir, int64_t now_ms,
                           uint64_t counts[TRANSFER_STATE_COUNT]);

/* Transfers that still accept requests: ready or active.  Expired,
 * cancelled and invalid ones are not "active transfers" for the peers'
 * control planes (CloudStack's active_transfers). */
uint64_t transfer_status_open (const uint64_t counts[TRANSFER_STATE_COUNT]);

/* With descriptor: the normalized descriptor's fields as well (GET one),
 * else a summary (the list). */
json_object *transfer_status_to_json (const struct transfer_status *st,
                                      bool descriptor);

/* "ready", "active", "expired", "cancelled", "invalid", "absent". */
const char *transfer_state_name (enum transfer_state state);

#endif
