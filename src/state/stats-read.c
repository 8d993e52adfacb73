/* SPDX-License-Identifier: Apache-2.0 */
/* The read side of the shared state table: plain copies for the
 * management API and imagexferctl.  Readers never block writers; a
 * slot being rewritten is retried a few times (sequence number). */
#include <config.h>

#include <sched.h>
#include <string.h>

#include "backend-registry.h"
#include "stats-entry.h"
#include "stats-map.h"
#include "stats-read.h"

const uint64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS - 1] = {
  1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
  1000000, 5000000, 30000000, 300000000,
};

const char *
stats_method_name (enum stats_method m)
{
  static const char *const names[STATS_METHOD_COUNT] = {
    "GET", "HEAD", "PUT", "PATCH", "POST", "OPTIONS", "DELETE", "other",
  };

  return (unsigned) m < STATS_METHOD_COUNT ? names[m] : "other";
}

const char *
stats_scope_name (enum stats_scope s)
{
  size_t backend = (size_t) s - STATS_SCOPE_FIRST_BACKEND;

  if (s == STATS_SCOPE_ALL)
    return "all";
  if (s >= STATS_SCOPE_OTHER)
    return "other";
  return backend < backend_type_count () ? backend_types[backend]->name
                                         : NULL;
}

int
stats_global (enum stats_scope scope, struct stats_global_info *out)
{
  const struct stats_counters *c;

  memset (out, 0, sizeof *out);
  if (stats_map == NULL || (unsigned) scope >= STATS_SCOPE_COUNT)
    return -1;
  c = &stats_map->counters[scope];
  out->requests = LOAD (c->requests);
  for (size_t i = 0; i < STATS_METHOD_COUNT; i++)
    out->by_method[i] = LOAD (c->by_method[i]);
  for (size_t i = 0; i <= STATS_STATUS_MAX; i++)
    out->by_status[i] = LOAD (c->by_status[i]);
  out->bytes_read = LOAD (c->bytes_read);
  out->bytes_written = LOAD (c->bytes_written);
  out->errors = LOAD (c->errors);
  out->in_flight = LOAD (c->in_flight);
  /* A worker killed between its two decrements could leave the gauge
   * "negative"; show 0 rather than 2^64-1. */
  if ((int64_t) out->in_flight < 0)
    out->in_flight = 0;
  for (size_t i = 0; i < STATS_LATENCY_BUCKETS; i++)
    out->latency[i] = LOAD (c->latency[i]);
  out->latency_sum_us = LOAD (c->latency_sum_us);
  return 0;
}

int
stats_daemon (struct stats_daemon_info *out)
{
  memset (out, 0, sizeof *out);
  if (stats_map == NULL)
    return -1;
  out->supervisor_pid = LOAD (stats_map->header.supervisor_pid);
  out->start_time = LOAD (stats_map->header.supervisor_start);
  out->workers = LOAD (stats_map->header.workers);
  out->generation = LOAD (stats_map->header.generation);
  return 0;
}

static void
entry_copy (struct stats_entry *e, struct stats_transfer_info *out)
{
  memset (out, 0, sizeof *out);
  stats_copy_string (out->id, sizeof out->id, e->id, sizeof e->id);
  out->bytes_read = LOAD (e->bytes_read);
  out->bytes_written = LOAD (e->bytes_written);
  out->transferred = LOAD (e->transferred) + LOAD (e->unmerged);
  out->transferred_exact = !(LOAD (e->flags) & ENTRY_FLAG_INEXACT);
  out->requests = LOAD (e->requests);
  out->errors = LOAD (e->errors);
  out->in_flight = LOAD (e->in_flight);
  if ((int32_t) out->in_flight < 0)
    out->in_flight = 0;
  out->cancelled = LOAD (e->flags) & ENTRY_FLAG_CANCELLED;
  out->first_seen_ms = LOAD (e->first_seen_ms);
  out->since_ns = LOAD (e->since_ns);
  out->last_activity_ms = LOAD (e->last_activity_ms);
}

int
stats_transfer (const char *transfer_id, struct stats_transfer_info *out)
{
  struct stats_entry *e = stats_entry_find (transfer_id, false, NULL);

  if (e == NULL)
    return -1;
  entry_copy (e, out);
  return 0;
}

void
stats_transfer_foreach (int (*fn) (const struct stats_transfer_info *,
                                   void *),
                        void *opaque)
{
  struct stats_transfer_info info;

  if (stats_map == NULL)
    return;
  for (size_t i = 0; i < STATS_TRANSFERS; i++) {
    struct stats_entry *e = &stats_map->entries[i];

    if (LOAD (e->state) != ENTRY_READY)
      continue;
    entry_copy (e, &info);
    if (fn (&info, opaque))
      return;
  }
}

size_t
stats_slots (struct stats_slot_info *out, size_t max)
{
  size_t n = 0;

  if (stats_map == NULL)
    return 0;
  for (size_t i = 0; i < STATS_SLOTS && n < max; i++) {
    struct stats_slot *s = &stats_map->slots[i];
    struct stats_slot_info *o = &out[n];
    bool consistent = false;

    if (LOAD (s->pid) == 0)
      continue;
    for (int attempt = 0; attempt < 100 && !consistent; attempt++) {
      uint64_t seq = LOAD (s->seq);

      if (seq & 1) {
        sched_yield ();
        continue;
      }
      memset (o, 0, sizeof *o);
      o->pid = LOAD (s->pid);
      o->in_flight = LOAD (s->in_flight);
      stats_copy_string (o->transfer_id, sizeof o->transfer_id,
                         s->transfer_id, sizeof s->transfer_id);
      stats_copy_string (o->method, sizeof o->method, s->method,
                         sizeof s->method);
      stats_copy_string (o->backend, sizeof o->backend, s->backend,
                         sizeof s->backend);
      o->offset = LOAD (s->offset);
      o->bytes = LOAD (s->bytes);
      o->start_ms = LOAD (s->start_ms);
      consistent = LOAD (s->seq) == seq;
    }
    if (consistent && o->pid != 0)
      n++;
  }
  return n;
}
