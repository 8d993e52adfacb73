/* SPDX-License-Identifier: Apache-2.0 */
/* Sizes and enumerations shared by the shared state's interface
 * (stats.h, events.h) and its file layout (stats-map.h).  Nothing but
 * constants, so that both sides can include it without including each
 * other.  Changing one changes the layout: bump STATS_VERSION.
 */
#ifndef IMAGEXFER_STATS_LIMITS_H
#define IMAGEXFER_STATS_LIMITS_H

/* Worker slots: the most processes with a request in flight. */
#define STATS_SLOTS 512

/* Status codes 100-599 are counted exactly; anything else (0 for a
 * response that never started) in code 0. */
#define STATS_STATUS_MIN 100
#define STATS_STATUS_MAX 599

/* Latency histogram buckets; the last one is +Inf (the bounds are
 * stats_latency_bounds_us, stats-read.h). */
#define STATS_LATENCY_BUCKETS 13

/* The event ring: how many events are kept, and how long a message. */
#define EVENTS_RING 256
#define EVENTS_MESSAGE_MAX 200

enum stats_method {
  STATS_METHOD_GET, STATS_METHOD_HEAD, STATS_METHOD_PUT, STATS_METHOD_PATCH,
  STATS_METHOD_POST, STATS_METHOD_OPTIONS, STATS_METHOD_DELETE,
  STATS_METHOD_OTHER,
  STATS_METHOD_COUNT
};

/* What a request in flight counts as for the per-transfer caps. */
enum stats_role {
  STATS_ROLE_NONE = 0,
  STATS_ROLE_READER = 1,
  STATS_ROLE_WRITER = 2,
};

/* Global counters are kept for all requests, for each backend of the
 * registry (the first STATS_BACKEND_SCOPES of it, in its order), and for
 * requests with no backend (an unknown transfer) or beyond those.  The
 * names are stats_scope_name (stats-read.c): "all", the backends' names,
 * "other"; a scope with no backend in the registry has none. */
#define STATS_BACKEND_SCOPES 8
enum stats_scope {
  STATS_SCOPE_ALL = 0,
  STATS_SCOPE_FIRST_BACKEND = 1,
  STATS_SCOPE_OTHER = STATS_SCOPE_FIRST_BACKEND + STATS_BACKEND_SCOPES,
  STATS_SCOPE_COUNT
};

#endif
