/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/metrics, /metrics/backend and /metrics/inflight: the
 * shared counters as JSON (?format=prometheus: api-prometheus.c). */
#include <config.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-internal.h"
#include "api-response.h"
#include "stats.h"

static json_object *
counters_json (const struct stats_global_info *g)
{
  json_object *obj = json_object_new_object ();
  json_object *methods = json_object_new_object ();
  json_object *statuses = json_object_new_object ();
  json_object *classes = json_object_new_object ();
  json_object *latency = json_object_new_object ();
  json_object *buckets = json_object_new_array ();
  uint64_t class_count[6] = { 0 };
  uint64_t cumulative = 0;
  char key[16];

  if (!obj || !methods || !statuses || !classes || !latency || !buckets) {
    json_object_put (obj);
    json_object_put (methods);
    json_object_put (statuses);
    json_object_put (classes);
    json_object_put (latency);
    json_object_put (buckets);
    return NULL;
  }
  for (int m = 0; m < STATS_METHOD_COUNT; m++)
    json_object_object_add (methods, stats_method_name (m),
                            json_object_new_uint64 (g->by_method[m]));
  for (int s = 0; s <= STATS_STATUS_MAX; s++) {
    if (g->by_status[s] == 0)
      continue;
    snprintf (key, sizeof key, "%d", s);
    json_object_object_add (statuses, key,
                            json_object_new_uint64 (g->by_status[s]));
    class_count[s / 100] += g->by_status[s];
  }
  for (int c = 1; c <= 5; c++) {
    snprintf (key, sizeof key, "%dxx", c);
    json_object_object_add (classes, key,
                            json_object_new_uint64 (class_count[c]));
  }
  for (int b = 0; b < STATS_LATENCY_BUCKETS; b++) {
    json_object *bucket = json_object_new_object ();

    cumulative += g->latency[b];
    if (b < STATS_LATENCY_BUCKETS - 1)
      json_object_object_add (bucket, "le", api_number
                              (stats_latency_bounds_us[b] / 1e6, 3));
    else
      json_object_object_add (bucket, "le", json_object_new_string ("+Inf"));
    json_object_object_add (bucket, "count",
                            json_object_new_uint64 (cumulative));
    json_object_array_add (buckets, bucket);
  }
  json_object_object_add (latency, "buckets", buckets);
  json_object_object_add (latency, "sum_seconds",
                          api_number (g->latency_sum_us / 1e6, 6));
  json_object_object_add (latency, "count",
                          json_object_new_uint64 (cumulative));

  json_object_object_add (obj, "requests",
                          json_object_new_uint64 (g->requests));
  json_object_object_add (obj, "requests_by_method", methods);
  json_object_object_add (obj, "responses_by_status", statuses);
  json_object_object_add (obj, "responses_by_class", classes);
  json_object_object_add (obj, "bytes_read",
                          json_object_new_uint64 (g->bytes_read));
  json_object_object_add (obj, "bytes_written",
                          json_object_new_uint64 (g->bytes_written));
  json_object_object_add (obj, "errors", json_object_new_uint64 (g->errors));
  json_object_object_add (obj, "in_flight",
                          json_object_new_uint64 (g->in_flight));
  json_object_object_add (obj, "latency", latency);
  return obj;
}

static bool
no_table (struct request *req)
{
  if (stats_attached ())
    return false;
  api_error (req, 503, "statistics are not available (no shared state "
             "table in state_dir)");
  return true;
}

void
api_metrics (struct request *req, const struct config *cfg)
{
  struct stats_global_info g;
  char format[32];
  const char *f = request_query (req, "format", format, sizeof format);

  if (f && strcmp (f, "prometheus") != 0 && strcmp (f, "json") != 0) {
    api_error (req, 400, "format: expected \"json\" or \"prometheus\"");
    return;
  }
  if (no_table (req))
    return;
  if (f && strcmp (f, "prometheus") == 0) {
    api_prometheus (req, cfg);
    return;
  }
  stats_global (STATS_SCOPE_ALL, &g);
  api_json (req, 200, counters_json (&g));
}

void
api_metrics_backend (struct request *req, const struct config *cfg)
{
  json_object *obj;

  if (no_table (req))
    return;
  obj = json_object_new_object ();
  for (int s = 1; obj && s < STATS_SCOPE_COUNT; s++) {
    struct stats_global_info g;

    if (stats_scope_name (s) == NULL)   /* no such backend */
      continue;
    stats_global (s, &g);
    json_object_object_add (obj, stats_scope_name (s), counters_json (&g));
  }
  api_json (req, 200, obj);
}

void
api_metrics_inflight (struct request *req, const struct config *cfg)
{
  static struct stats_slot_info slots[STATS_SLOTS];
  json_object *obj, *list;
  int64_t now = stats_now_ms ();
  size_t n;

  if (no_table (req))
    return;
  n = stats_slots (slots, STATS_SLOTS);
  obj = api_list_object (req, "requests", &list);
  if (obj == NULL)
    return;
  for (size_t i = 0; i < n; i++) {
    const struct stats_slot_info *s = &slots[i];
    json_object *r;

    /* The request asking is in flight too; it is not news. */
    if (!s->in_flight || (s->pid == getpid () && s->transfer_id[0] == '\0'))
      continue;
    r = json_object_new_object ();
    json_object_object_add (r, "pid", json_object_new_int64 (s->pid));
    json_object_object_add (r, "transfer_id",
                            json_object_new_string (s->transfer_id));
    json_object_object_add (r, "method", json_object_new_string (s->method));
    json_object_object_add (r, "backend", json_object_new_string (s->backend));
    json_object_object_add (r, "offset", json_object_new_uint64 (s->offset));
    json_object_object_add (r, "bytes", json_object_new_uint64 (s->bytes));
    json_object_object_add (r, "elapsed",
                            api_number ((now - s->start_ms) / 1000.0, 3));
    json_object_array_add (list, r);
  }
  api_json (req, 200, obj);
}
