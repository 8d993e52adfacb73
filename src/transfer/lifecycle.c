/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer lifecycle rules; see lifecycle.h for the semantics. */
#include <config.h>

#include "events.h"
#include "lifecycle.h"
#include "stats.h"

int64_t
lifecycle_idle_since_ms (const struct transfer *t,
                         const struct lifecycle_activity *a, int64_t now_ms)
{
  int64_t base_ms = ((int64_t) t->spool_mtime + 1) * 1000;

  if (a->last_activity_ms > base_ms)
    base_ms = a->last_activity_ms;
  if (a->in_flight > 0)
    base_ms = now_ms;
  return base_ms;
}

/* Descriptors may hold any 64-bit number of seconds: in milliseconds,
 * and added to a time, they saturate instead of wrapping around (a
 * wrapped "never" would read as "long ago"). */
static int64_t
seconds_to_ms (int64_t seconds)
{
  int64_t ms;

  return __builtin_mul_overflow (seconds, 1000, &ms) ? INT64_MAX : ms;
}

static int64_t
add_ms (int64_t a, int64_t b)
{
  int64_t sum;

  return __builtin_add_overflow (a, b, &sum) ? INT64_MAX : sum;
}

/* A rule closing the transfer seconds after base_ms (none when 0): the
 * earliest deadline wins, and the first rule that passed names the
 * state. */
static void
relative_rule (int64_t seconds, enum lifecycle_state closed, int64_t base_ms,
               int64_t now_ms, enum lifecycle_state *state, int64_t *end)
{
  int64_t at_ms = add_ms (base_ms, seconds_to_ms (seconds));
  int64_t at = at_ms / 1000 + (at_ms % 1000 != 0);

  if (seconds <= 0)
    return;
  if (*end == -1 || at < *end)
    *end = at;
  if (*state == LIFECYCLE_OPEN && now_ms >= at_ms)
    *state = closed;
}

enum lifecycle_state
lifecycle_evaluate (const struct transfer *t,
                    const struct lifecycle_activity *a, int64_t now_ms,
                    int64_t *deadline)
{
  enum lifecycle_state state = LIFECYCLE_OPEN;
  int64_t base_ms, end = -1;

  /* The relative rules count from the later of the descriptor's
   * writing and the last activity; a request in flight is activity
   * now. */
  base_ms = lifecycle_idle_since_ms (t, a, now_ms);

  if (t->has_expires) {
    end = t->expires;
    if (now_ms >= seconds_to_ms (t->expires))
      state = LIFECYCLE_EXPIRED;
  }
  relative_rule (t->timeout, LIFECYCLE_TIMED_OUT, base_ms, now_ms, &state,
                 &end);
  relative_rule (t->inactivity_timeout, LIFECYCLE_IDLE, base_ms, now_ms,
                 &state, &end);
  if (deadline)
    *deadline = end;
  return state;
}

void
lifecycle_activity_get (const char *transfer_id,
                        struct lifecycle_activity *a)
{
  struct stats_transfer_info info;

  a->in_flight = 0;
  a->last_activity_ms = 0;
  if (stats_transfer (transfer_id, &info) == -1)
    return;
  a->in_flight = info.in_flight;
  if (a->in_flight > 0 && stats_request_in_flight_for (transfer_id))
    a->in_flight--;
  a->last_activity_ms = info.last_activity_ms;
}

bool
lifecycle_counters_current (const struct transfer *t)
{
  return stats_transfer_renew (t->id, (int64_t) t->spool_mtime * 1000000000
                                      + t->spool_mtime_nsec);
}

enum lifecycle_state
lifecycle_check (const struct transfer *t, time_t now)
{
  struct lifecycle_activity a;
  enum lifecycle_state state;

  lifecycle_counters_current (t);
  /* The caller's now has whole seconds; rules compare in ms, so a
   * transfer closes no earlier than its timeout, at most 1 s later
   * (2 s when counting from the mtime). */
  lifecycle_activity_get (t->id, &a);
  state = lifecycle_evaluate (t, &a, (int64_t) now * 1000, NULL);
  if (state == LIFECYCLE_OPEN)
    return state;
  stats_request_refused ();
  if (stats_transfer_note_expired (t->id))
    events_record (LOG_LEVEL_INFO, t->id, "transfer expired (%s)",
                   lifecycle_state_name (state));
  return state;
}

const char *
lifecycle_state_name (enum lifecycle_state state)
{
  switch (state) {
  case LIFECYCLE_OPEN: return "open";
  case LIFECYCLE_EXPIRED: return "expired";
  case LIFECYCLE_TIMED_OUT: return "timed out";
  case LIFECYCLE_IDLE: return "idle";
  }
  return "unknown";
}
