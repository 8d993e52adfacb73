/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer lifecycle: whether a transfer still accepts requests.
 *
 * expires (absolute), timeout (ImageIO: sliding, from the last completed
 * request, the first from the spool file's mtime) and
 * inactivity_timeout (CloudStack: nothing in flight and nothing
 * completed for that long).  The sliding and idle rules need activity
 * from every worker, which comes from the shared state (stats.h).
 *
 * Both relative rules measure from the later of the spool file's mtime
 * and the transfer's last activity (a request ending, or bytes moving
 * in one still running), and never fire while a request is in flight.
 * Without the shared table the last activity is unknown and they
 * degrade to "timeout seconds after the descriptor was written": a
 * transfer then closes on schedule even while in use, the safe side.
 */
#ifndef IMAGEXFER_LIFECYCLE_H
#define IMAGEXFER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "transfer.h"

enum lifecycle_state {
  LIFECYCLE_OPEN,
  LIFECYCLE_EXPIRED,     /* past expires */
  LIFECYCLE_TIMED_OUT,   /* sliding timeout passed */
  LIFECYCLE_IDLE,        /* inactivity timeout passed */
};

/* What the shared state knows of a transfer's use. */
struct lifecycle_activity {
  uint32_t in_flight;          /* requests of other workers in flight */
  int64_t last_activity_ms;    /* Unix ms, 0 when unknown */
};

/* The decision, from the descriptor, its activity and the time.  When
 * deadline is not NULL it gets the Unix second at which the transfer
 * closes (or closed) with nothing more happening, or -1 for never. */
enum lifecycle_state lifecycle_evaluate (const struct transfer *t,
                                         const struct lifecycle_activity *a,
                                         int64_t now_ms, int64_t *deadline);

/* The instant (Unix ms) idleness counts from: the later of the last
 * activity and the end of the second the descriptor was written in
 * (mtime has whole seconds here; rounding up means no transfer closes
 * before its timeout).  now_ms when a request is in flight. */
int64_t lifecycle_idle_since_ms (const struct transfer *t,
                                 const struct lifecycle_activity *a,
                                 int64_t now_ms);

/* Fill a from the shared table (zeroes without it).  The request this
 * process is serving for the same transfer, if any, is not counted. */
void lifecycle_activity_get (const char *transfer_id,
                             struct lifecycle_activity *a);

/* Make the shared entry of t's id count for this descriptor: an entry
 * older than the descriptor's mtime was an earlier transfer under the
 * same id (stats_transfer_renew).  Returns false when it still is (a
 * read-only table): its counters are not t's. */
bool lifecycle_counters_current (const struct transfer *t);

/* lifecycle_evaluate with the shared activity at now, after
 * lifecycle_counters_current, for the request this process serves.  A
 * closed transfer stays closed: the refused request is not activity
 * (stats_request_refused).  The first time a transfer is found closed
 * an "expired" event is recorded. */
enum lifecycle_state lifecycle_check (const struct transfer *t, time_t now);

/* "open", "expired", "timed out", "idle". */
const char *lifecycle_state_name (enum lifecycle_state state);

#endif
