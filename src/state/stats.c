/* SPDX-License-Identifier: Apache-2.0 */
/* The data path's hooks: the worker serving a request tells the shared
 * table when it begins, as bytes move, and when it ends; and attaching
 * to the table and detaching, which ends such a request first.  Mapping
 * the table is in stats-map.c, the transfer entries in stats-entry.c,
 * the worker slots in stats-slots.c, reading in stats-read.c.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "stats-map.h"
#include "stats-ranges.h"
#include "stats.h"

/* This process's request in flight. */
static struct stats_entry *my_entry;
static bool my_in_flight;          /* between begin and end */
static bool my_refused;            /* not activity on the transfer */
static unsigned my_scope;
static unsigned my_method;
static unsigned my_role;           /* enum stats_role it is counted as */
static uint64_t my_position;       /* offset + bytes so far */
static struct timespec my_started; /* CLOCK_MONOTONIC */

static unsigned
method_index (const char *method)
{
  for (unsigned i = 0; method && i < STATS_METHOD_OTHER; i++)
    if (strcmp (method, stats_method_name (i)) == 0)
      return i;
  return STATS_METHOD_OTHER;
}

static unsigned
scope_index (const char *backend)
{
  for (unsigned i = STATS_SCOPE_FIRST_BACKEND;
       backend && i < STATS_SCOPE_OTHER; i++) {
    const char *name = stats_scope_name (i);

    if (name && strcmp (backend, name) == 0)
      return i;
  }
  return STATS_SCOPE_OTHER;
}

/* The request this process is serving is the first of e's transfer
 * (after a reset): note when, and record "transfer opened". */
static void
request_first (struct stats_entry *e)
{
  int64_t zero = 0;
  char id[TRANSFER_ID_MAX + 1];

  if (!CAS (e->first_seen_ms, &zero, stats_now_ms ()))
    return;
  stats_copy_string (id, sizeof id, e->id, sizeof e->id);
  events_record (LOG_LEVEL_INFO, id, "transfer opened: first request %s",
                 stats_method_name (my_method));
}

/* Publish the request in this process's slot for the inflight list;
 * seq is odd while the strings are being written. */
static void
slot_begin (struct stats_slot *s, const char *transfer_id,
            const char *backend, const char *method, uint64_t offset)
{
  ADD (s->seq, 1);
  snprintf (s->transfer_id, sizeof s->transfer_id, "%s",
            transfer_id ? transfer_id : "");
  /* Longer names are cut to the field; stats_method_name is in it. */
  stats_copy_string (s->method, sizeof s->method, method ? method : "",
                     method ? strlen (method) : 0);
  stats_copy_string (s->backend, sizeof s->backend, backend ? backend : "",
                     backend ? strlen (backend) : 0);
  STORE (s->offset, offset);
  STORE (s->bytes, 0);
  STORE (s->start_ms, stats_now_ms ());
  STORE (s->scope, my_scope);
  STORE (s->entry, my_entry ? (uint32_t) (my_entry - stats_map->entries) + 1
                            : 0);
  STORE (s->role, STATS_ROLE_NONE);
  STORE (s->in_flight, 1);
  ADD (s->seq, 1);
}

void
stats_request_begin (const char *transfer_id, const char *backend,
                     const char *method, uint64_t offset)
{
  struct stats_slot *s;

  if (stats_map == NULL || !stats_writable)
    return;
  if (my_in_flight)
    stats_request_end (0);     /* the previous request never ended */
  s = stats_slot_mine ();
  if (s == NULL && stats_worker_register () == 0)
    s = stats_slot_mine ();

  clock_gettime (CLOCK_MONOTONIC, &my_started);
  my_in_flight = true;
  my_refused = false;
  my_role = STATS_ROLE_NONE;
  my_scope = scope_index (backend);
  my_method = method_index (method);
  my_position = offset;
  my_entry = transfer_id ? stats_entry_find (transfer_id, true, NULL) : NULL;
  if (my_entry)
    ADD (my_entry->in_flight, 1);
  ADD (stats_map->counters[STATS_SCOPE_ALL].in_flight, 1);
  ADD (stats_map->counters[my_scope].in_flight, 1);
  if (s)
    slot_begin (s, transfer_id, backend, method, offset);
  /* The first request of this transfer (or of a new descriptor under
   * the same id, after a reset). */
  if (my_entry)
    request_first (my_entry);
}

void
stats_request_progress (uint64_t bytes, bool is_write)
{
  struct stats_counters *all, *scope;
  struct stats_slot *s = stats_slot_mine ();

  if (stats_map == NULL || !stats_writable || bytes == 0 || !my_in_flight)
    return;
  all = &stats_map->counters[STATS_SCOPE_ALL];
  scope = &stats_map->counters[my_scope];
  if (is_write) {
    ADD (all->bytes_written, bytes);
    ADD (scope->bytes_written, bytes);
  }
  else {
    ADD (all->bytes_read, bytes);
    ADD (scope->bytes_read, bytes);
  }
  if (s)
    ADD (s->bytes, bytes);
  if (my_entry) {
    if (is_write)
      ADD (my_entry->bytes_written, bytes);
    else
      ADD (my_entry->bytes_read, bytes);
    stats_ranges_add (my_entry, my_position, my_position + bytes);
    STORE (my_entry->last_activity_ms, stats_now_ms ());
  }
  my_position += bytes;
}

static unsigned
latency_bucket (uint64_t us)
{
  unsigned i;

  for (i = 0; i < STATS_LATENCY_BUCKETS - 1; i++)
    if (us <= stats_latency_bounds_us[i])
      break;
  return i;
}

static void
count_request (struct stats_counters *c, int status, uint64_t us)
{
  ADD (c->requests, 1);
  ADD (c->by_method[my_method], 1);
  ADD (c->by_status[status >= STATS_STATUS_MIN && status <= STATS_STATUS_MAX
                    ? status : 0], 1);
  if (status >= 400 || status == 0)
    ADD (c->errors, 1);
  ADD (c->latency[latency_bucket (us)], 1);
  ADD (c->latency_sum_us, us);
  SUB (c->in_flight, 1);
}

/* Events: failures on the backend side, and completed requests that
 * moved data or changed the image (the access log already has every
 * request, so these are not logged again). */
static void
record_end (const char *id, int http_status, uint64_t bytes)
{
  if (http_status >= 500 || http_status == 0)
    events_record (LOG_LEVEL_WARNING, id, "request failed: %s status %d "
                   "after %llu bytes", stats_method_name (my_method),
                   http_status, (unsigned long long) bytes);
  else if (http_status < 300
           && (bytes > 0 || my_method == STATS_METHOD_PATCH
               || my_method == STATS_METHOD_POST))
    events_record_quiet (LOG_LEVEL_INFO, id, "request completed: %s "
                         "status %d, %llu bytes",
                         stats_method_name (my_method), http_status,
                         (unsigned long long) bytes);
}

void
stats_request_end (int http_status)
{
  struct stats_slot *s = stats_slot_mine ();
  struct timespec now;
  uint64_t us, bytes = 0;
  char id[TRANSFER_ID_MAX + 1] = "";

  if (stats_map == NULL || !stats_writable || !my_in_flight)
    return;                    /* no request began */
  stats_request_unclaim ();
  my_in_flight = false;
  clock_gettime (CLOCK_MONOTONIC, &now);
  us = (uint64_t) (now.tv_sec - my_started.tv_sec) * 1000000
    + (uint64_t) ((now.tv_nsec - my_started.tv_nsec) / 1000);

  count_request (&stats_map->counters[STATS_SCOPE_ALL], http_status, us);
  count_request (&stats_map->counters[my_scope], http_status, us);
  if (s) {
    bytes = LOAD (s->bytes);
    STORE (s->in_flight, 0);
    STORE (s->entry, 0);
  }
  if (my_entry == NULL)
    return;
  ADD (my_entry->requests, 1);
  if (http_status >= 400 || http_status == 0)
    ADD (my_entry->errors, 1);
  if (!my_refused)
    STORE (my_entry->last_activity_ms, stats_now_ms ());
  SUB (my_entry->in_flight, 1);
  stats_copy_string (id, sizeof id, my_entry->id, sizeof my_entry->id);
  my_entry = NULL;
  record_end (id, http_status, bytes);
}

bool
stats_request_claim (bool writer, unsigned max, unsigned max_total)
{
  struct stats_slot *s = stats_slot_mine ();
  unsigned role = writer ? STATS_ROLE_WRITER : STATS_ROLE_READER;

  if (stats_map == NULL || !stats_writable || !my_in_flight
      || my_entry == NULL)
    return true;               /* nothing to count in: not enforced */
  /* The slot says so first, so that the supervisor gives the place
   * back if this process dies now. */
  if (s)
    STORE (s->role, role);
  if (!stats_entry_claim (my_entry, role, max, max_total)) {
    if (s)
      STORE (s->role, STATS_ROLE_NONE);
    return false;
  }
  my_role = role;
  return true;
}

void
stats_request_unclaim (void)
{
  struct stats_slot *s;

  if (stats_map == NULL || !stats_writable || !my_in_flight
      || my_role == STATS_ROLE_NONE)
    return;
  /* The entry first, then the slot, as stats_request_end always did: a
   * process that dies between the two is counted out once more by the
   * supervisor (one request too many admitted for a while), never left
   * holding a place for good. */
  if (my_entry)
    stats_entry_unclaim (my_entry, my_role);
  my_role = STATS_ROLE_NONE;
  s = stats_slot_mine ();
  if (s)
    STORE (s->role, STATS_ROLE_NONE);
}

void
stats_request_refused (void)
{
  my_refused = true;
}

bool
stats_request_in_flight_for (const char *transfer_id)
{
  return stats_map && my_entry && transfer_id
    && strncmp (my_entry->id, transfer_id, sizeof my_entry->id) == 0;
}

/* Whether e counted an earlier transfer is the entry's business, but
 * what to do about it depends on this process's request in flight, so
 * the decision is here. */
bool
stats_transfer_renew (const char *transfer_id, int64_t descriptor_mtime_ns)
{
  struct stats_entry *e = stats_entry_find (transfer_id, false, NULL);
  int64_t since;
  uint32_t others;
  bool mine;

  if (e == NULL)
    return true;
  since = LOAD (e->since_ns);
  if (since >= descriptor_mtime_ns)
    return true;
  if (!stats_writable)
    return false;
  /* One process restarts the entry; the others see it done. */
  if (!CAS (e->since_ns, &since, stats_now_ns ()))
    return true;
  mine = stats_request_in_flight_for (transfer_id);
  others = LOAD (e->in_flight) - (mine ? 1 : 0);
  if (others != 0 && others < STATS_SLOTS)
    return true;               /* requests carry on: the same transfer */
  stats_entry_reset (e);
  if (mine)
    request_first (e);
  return true;
}

/* Attaching and detaching. */

void
stats_set_file_mode (unsigned mode)
{
  stats_map_set_file_mode (mode);
}

int
stats_attach (const char *state_dir)
{
  return stats_map_attach (state_dir, true);
}

int
stats_attach_existing (const char *state_dir)
{
  return stats_map_attach (state_dir, false);
}

bool
stats_attached (void)
{
  return stats_map != NULL;
}

/* Between requests: a table replaced, deleted, truncated or scribbled
 * on is left for a valid one (rebuilt if need be), after giving back
 * this process's slot in the old one. */
int
stats_refresh (void)
{
  if (my_in_flight)
    return 0;
  if (stats_map && stats_map_current ())
    return 0;
  if (stats_map)
    stats_slot_release_mine ();
  return stats_map_reattach () == 0 ? 1 : -1;
}

/* What this process holds in the table goes back before the mapping
 * does: a request that never ended, then its slot. */
void
stats_detach (void)
{
  if (stats_map == NULL)
    return;
  if (stats_writable)
    stats_request_end (0);
  stats_slot_release_mine ();
  stats_map_unmap ();
}
