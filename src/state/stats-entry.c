/* SPDX-License-Identifier: Apache-2.0 */
/* The shared table's transfer entries: finding and claiming them, and
 * the management updates (cancelled, installed, expired).  Renewing an
 * entry is in stats.c: it depends on this process's request.
 *
 * Open addressing with linear probing, keyed by id.  An entry is
 * claimed by a CAS of its state (EMPTY -> CLAIMING), its key written,
 * then published as READY; after that it is only updated with atomic
 * operations.
 */
#include <config.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "log.h"
#include "stats-clock.h"
#include "stats-entry.h"
#include "stats-map.h"
#include "stats-ranges.h"

static uint32_t
hash_id (const char *id)
{
  uint32_t h = 2166136261u;    /* FNV-1a */

  for (; *id; id++)
    h = (h ^ (unsigned char) *id) * 16777619u;
  return h;
}

static bool
entry_is (struct stats_entry *e, const char *id)
{
  return LOAD (e->state) == ENTRY_READY
    && strncmp (e->id, id, sizeof e->id) == 0;
}

/* Wait (briefly) for a claimer to finish writing the key.  A claimer
 * that died half-way leaves CLAIMING behind: the entry is then skipped
 * for ever, which costs one entry, not correctness. */
static uint32_t
entry_settle (struct stats_entry *e)
{
  uint32_t state = LOAD (e->state);

  for (int spin = 0; state == ENTRY_CLAIMING && spin < 1000; spin++) {
    sched_yield ();
    state = LOAD (e->state);
  }
  return state;
}

void
stats_entry_reset (struct stats_entry *e)
{
  STORE (e->flags, 0);
  STORE (e->bytes_read, 0);
  STORE (e->bytes_written, 0);
  STORE (e->requests, 0);
  STORE (e->errors, 0);
  STORE (e->first_seen_ms, 0);
  STORE (e->last_activity_ms, 0);
  STORE (e->since_ns, stats_now_ns ());
  stats_ranges_clear (e);
}

/* Write the key of an entry we hold in CLAIMING, and publish it. */
static void
entry_publish (struct stats_entry *e, const char *id)
{
  stats_entry_reset (e);
  memset (e->id, 0, sizeof e->id);
  snprintf (e->id, sizeof e->id, "%s", id);
  STORE (e->state, ENTRY_READY);
}

/* When the table is full, reuse the entry that has been idle longest,
 * if it has been idle for an hour: its transfer is almost surely gone.
 * A worker that looked it up just before may add one request to the
 * new owner's counters; acceptable for statistics. */
static struct stats_entry *
entry_reclaim (const char *id, int64_t now)
{
  struct stats_entry *oldest = NULL;
  uint32_t ready = ENTRY_READY;

  for (size_t i = 0; i < STATS_TRANSFERS; i++) {
    struct stats_entry *e = &stats_map->entries[i];

    if (LOAD (e->state) == ENTRY_READY && LOAD (e->in_flight) == 0
        && now - LOAD (e->last_activity_ms) > 3600 * 1000
        && (oldest == NULL
            || LOAD (e->last_activity_ms) < LOAD (oldest->last_activity_ms)))
      oldest = e;
  }
  if (oldest == NULL || !CAS (oldest->state, &ready, ENTRY_CLAIMING))
    return NULL;
  entry_publish (oldest, id);
  return oldest;
}

/* Find the entry for id; with create, make it when absent (*created
 * says so).  NULL when absent, or when the table is full. */
struct stats_entry *
stats_entry_find (const char *id, bool create, bool *created)
{
  static bool warned;
  uint32_t h;
  struct stats_entry *e;

  if (created)
    *created = false;
  if (stats_map == NULL || id == NULL || id[0] == '\0')
    return NULL;
  h = hash_id (id);
  for (uint32_t probe = 0; probe < STATS_TRANSFERS; probe++) {
    uint32_t state;

    e = &stats_map->entries[(h + probe) & (STATS_TRANSFERS - 1)];
    state = entry_settle (e);
    if (state == ENTRY_READY && entry_is (e, id))
      return e;
    if (state != ENTRY_EMPTY)
      continue;
    /* End of the probe chain: the id is not in the table. */
    if (!create || !stats_writable)
      return NULL;
    if (!CAS (e->state, &state, ENTRY_CLAIMING)) {
      /* Someone else claimed it first, maybe for the same id. */
      if (entry_settle (e) == ENTRY_READY && entry_is (e, id))
        return e;
      continue;
    }
    STORE (e->in_flight, 0);
    STORE (e->readers, 0);
    STORE (e->writers, 0);
    STORE (e->data_requests, 0);
    entry_publish (e, id);
    if (created)
      *created = true;
    return e;
  }
  if (!create || !stats_writable)
    return NULL;
  e = entry_reclaim (id, stats_now_ms ());
  if (e && created)
    *created = true;
  if (e == NULL && !warned) {
    log_warning ("stats: transfer table full (%d entries); new transfers "
                 "have no counters", STATS_TRANSFERS);
    warned = true;
  }
  return e;
}

/* The per-transfer caps. */

static uint32_t *
role_count (struct stats_entry *e, unsigned role)
{
  return role == STATS_ROLE_WRITER ? &e->writers : &e->readers;
}

static void
decrement_to_zero (uint32_t *count)
{
  uint32_t n = LOAD (*count);

  while (n > 0 && !CAS (*count, &n, n - 1))
    ;
}

bool
stats_entry_claim (struct stats_entry *e, unsigned role, unsigned max,
                   unsigned max_total)
{
  uint32_t *count = role_count (e, role);

  if (ADD (*count, 1) > max) {
    decrement_to_zero (count);
    return false;
  }
  if (ADD (e->data_requests, 1) > max_total) {
    decrement_to_zero (&e->data_requests);
    decrement_to_zero (count);
    return false;
  }
  return true;
}

void
stats_entry_unclaim (struct stats_entry *e, unsigned role)
{
  if (role != STATS_ROLE_READER && role != STATS_ROLE_WRITER)
    return;
  decrement_to_zero (&e->data_requests);
  decrement_to_zero (role_count (e, role));
}

/* Management updates. */

void
stats_transfer_cancelled (const char *transfer_id)
{
  struct stats_entry *e = stats_writable
    ? stats_entry_find (transfer_id, true, NULL) : NULL;

  if (stats_map == NULL || !stats_writable)
    log_info ("transfer %s: cancelled", transfer_id);
  else if (e == NULL
           || !(SET_FLAGS (e->flags, ENTRY_FLAG_CANCELLED)
                & ENTRY_FLAG_CANCELLED))
    events_record (LOG_LEVEL_INFO, transfer_id, "transfer cancelled");
}

void
stats_transfer_installed (const char *transfer_id, bool replaced)
{
  struct stats_entry *e = stats_entry_find (transfer_id, false, NULL);

  if (e == NULL || !stats_writable)
    return;
  if (!replaced) {
    stats_entry_reset (e);
    return;
  }
  /* The same transfer, updated: it may expire (again) later. */
  __atomic_fetch_and (&e->flags, ~(ENTRY_FLAG_CANCELLED
                                   | ENTRY_FLAG_EXPIRED_REPORTED),
                      __ATOMIC_ACQ_REL);
  STORE (e->since_ns, stats_now_ns ());
}

bool
stats_transfer_note_expired (const char *transfer_id)
{
  struct stats_entry *e;

  if (stats_map == NULL || !stats_writable)
    return true;
  e = stats_entry_find (transfer_id, true, NULL);
  if (e == NULL)
    return true;
  return !(SET_FLAGS (e->flags, ENTRY_FLAG_EXPIRED_REPORTED)
           & ENTRY_FLAG_EXPIRED_REPORTED);
}
