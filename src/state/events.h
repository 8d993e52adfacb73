/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer and worker events for GET /api/v1/daemon/events.
 *
 * A fixed ring of the last EVENTS_RING events, kept in the shared state
 * file next to the counters (stats.h), so every worker's events and the
 * operator's tool see one history.  Without the table events are only
 * logged.
 */
#ifndef IMAGEXFER_EVENTS_H
#define IMAGEXFER_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "stats-limits.h"            /* EVENTS_RING, EVENTS_MESSAGE_MAX */
#include "transfer.h"

struct event_info {
  uint64_t seq;                           /* 1, 2, ... per table */
  int64_t time_ms;                        /* Unix ms */
  enum log_level level;
  char transfer_id[TRANSFER_ID_MAX + 1];  /* "" when none */
  char message[EVENTS_MESSAGE_MAX];
};

/* Record an event (transfer_id may be NULL) and log it at level with the
 * transfer id. */
void events_record (enum log_level level, const char *transfer_id,
                    const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* The same without the log line, for events the access log already
 * reports (a request completed). */
void events_record_quiet (enum log_level level, const char *transfer_id,
                          const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Copy up to max of the most recent events into out, oldest first.
 * Returns how many. */
size_t events_read (struct event_info *out, size_t max);

const char *events_level_name (enum log_level level);

#endif
