/* SPDX-License-Identifier: Apache-2.0 */
/* The event ring: the last EVENTS_RING events in the shared state file.
 *
 * A writer takes a sequence number with one atomic add, marks its
 * record incomplete, fills it and publishes the number; a reader copies
 * a record and keeps it only when the number is the one it expects
 * before and after the copy.  A writer that dies half-way leaves one
 * record unpublished, which readers skip.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "log.h"
#include "stats-clock.h"
#include "stats-map.h"

const char *
events_level_name (enum log_level level)
{
  switch (level) {
  case LOG_LEVEL_ERROR: return "error";
  case LOG_LEVEL_WARNING: return "warning";
  case LOG_LEVEL_INFO: return "info";
  case LOG_LEVEL_DEBUG: return "debug";
  }
  return "info";
}

static void record (enum log_level level, const char *transfer_id, bool log,
                    const char *fmt, va_list args)
  __attribute__ ((format (printf, 4, 0)));

static void
record (enum log_level level, const char *transfer_id, bool log,
        const char *fmt, va_list args)
{
  char message[EVENTS_MESSAGE_MAX];
  struct stats_event *e;
  uint64_t seq;

  vsnprintf (message, sizeof message, fmt, args);
  if (log) {
    if (transfer_id && transfer_id[0])
      log_msg (level, "transfer %s: %s", transfer_id, message);
    else
      log_msg (level, "%s", message);
  }
  if (stats_map == NULL || !stats_writable)
    return;

  seq = __atomic_fetch_add (&stats_map->header.events_next, 1,
                            __ATOMIC_ACQ_REL);
  e = &stats_map->events[seq % EVENTS_RING];
  STORE (e->seq, 0);
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  STORE (e->time_ms, stats_now_ms ());
  STORE (e->level, (uint32_t) level);
  memset (e->transfer_id, 0, sizeof e->transfer_id);
  snprintf (e->transfer_id, sizeof e->transfer_id, "%s",
            transfer_id ? transfer_id : "");
  memcpy (e->message, message, sizeof e->message);
  STORE (e->seq, seq + 1);
}

void
events_record (enum log_level level, const char *transfer_id,
               const char *fmt, ...)
{
  va_list args;

  va_start (args, fmt);
  record (level, transfer_id, true, fmt, args);
  va_end (args);
}

void
events_record_quiet (enum log_level level, const char *transfer_id,
                     const char *fmt, ...)
{
  va_list args;

  va_start (args, fmt);
  record (level, transfer_id, false, fmt, args);
  va_end (args);
}

size_t
events_read (struct event_info *out, size_t max)
{
  uint64_t next, first;
  size_t n = 0;

  if (stats_map == NULL || max == 0)
    return 0;
  next = LOAD (stats_map->header.events_next);
  first = next > EVENTS_RING ? next - EVENTS_RING : 0;
  if (next - first > max)
    first = next - max;
  for (uint64_t seq = first; seq < next; seq++) {
    struct stats_event *e = &stats_map->events[seq % EVENTS_RING];
    struct event_info *o = &out[n];
    uint32_t level;

    if (LOAD (e->seq) != seq + 1)
      continue;                /* being written, or already overwritten */
    o->seq = seq + 1;
    o->time_ms = LOAD (e->time_ms);
    level = LOAD (e->level);
    o->level = level <= LOG_LEVEL_DEBUG ? (enum log_level) level
                                        : LOG_LEVEL_INFO;
    stats_copy_string (o->transfer_id, sizeof o->transfer_id,
                       e->transfer_id, sizeof e->transfer_id);
    stats_copy_string (o->message, sizeof o->message, e->message,
                       sizeof e->message);
    __atomic_thread_fence (__ATOMIC_SEQ_CST);
    if (LOAD (e->seq) == seq + 1)
      n++;
  }
  return n;
}
