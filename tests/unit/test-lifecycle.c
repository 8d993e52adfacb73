/* SPDX-License-Identifier: Apache-2.0 */
/* Lifecycle rules, table-driven over now / expires / timeout / idle
 * timeout / activity. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "tap.h"

#define T0 1700000000          /* the spool file's mtime */
#define MS(s) ((int64_t) (s) * 1000)

int
main (void)
{
  static const struct {
    const char *name;
    bool has_expires;
    int64_t expires, timeout, idle;
    uint32_t in_flight;
    int64_t last_ms;           /* 0: no activity known */
    int64_t now_ms;
    enum lifecycle_state want;
    int64_t want_deadline;
  } cases[] = {
    { "no rules", false, 0, 0, 0, 0, 0, MS (T0 + 99999), LIFECYCLE_OPEN, -1 },
    { "before expires", true, T0 + 10, 0, 0, 0, 0, MS (T0 + 9) + 999,
      LIFECYCLE_OPEN, T0 + 10 },
    { "at expires", true, T0 + 10, 0, 0, 0, 0, MS (T0 + 10),
      LIFECYCLE_EXPIRED, T0 + 10 },
    { "expires wins while active", true, T0 + 10, 0, 0, 3, MS (T0 + 11),
      MS (T0 + 11), LIFECYCLE_EXPIRED, T0 + 10 },
    { "expires in the past", true, 0, 0, 0, 0, 0, MS (T0), LIFECYCLE_EXPIRED,
      0 },
    /* timeout: sliding from the mtime, then from the last activity */
    { "timeout from mtime, not yet", false, 0, 5, 0, 0, 0, MS (T0 + 5) + 999,
      LIFECYCLE_OPEN, T0 + 6 },
    { "timeout from mtime (rounded up), passed", false, 0, 5, 0, 0, 0,
      MS (T0 + 6), LIFECYCLE_TIMED_OUT, T0 + 6 },
    { "timeout slides with activity", false, 0, 5, 0, 0, MS (T0 + 4) + 500,
      MS (T0 + 9), LIFECYCLE_OPEN, T0 + 10 },
    { "timeout after activity passed", false, 0, 5, 0, 0, MS (T0 + 4) + 500,
      MS (T0 + 9) + 500, LIFECYCLE_TIMED_OUT, T0 + 10 },
    { "timeout never while in flight", false, 0, 5, 0, 1, MS (T0),
      MS (T0 + 100), LIFECYCLE_OPEN, T0 + 105 },
    { "activity older than mtime ignored", false, 0, 5, 0, 0, MS (T0 - 100),
      MS (T0 + 3), LIFECYCLE_OPEN, T0 + 6 },
    /* inactivity timeout (CloudStack) */
    { "idle, not yet", false, 0, 0, 3, 0, 0, MS (T0 + 3) + 999,
      LIFECYCLE_OPEN, T0 + 4 },
    { "idle passed", false, 0, 0, 3, 0, 0, MS (T0 + 4), LIFECYCLE_IDLE,
      T0 + 4 },
    { "idle measured from activity", false, 0, 0, 3, 0, MS (T0 + 10),
      MS (T0 + 12), LIFECYCLE_OPEN, T0 + 13 },
    { "idle after activity", false, 0, 0, 3, 0, MS (T0 + 10), MS (T0 + 14),
      LIFECYCLE_IDLE, T0 + 13 },
    { "not idle while in flight", false, 0, 0, 3, 2, MS (T0 + 10),
      MS (T0 + 50), LIFECYCLE_OPEN, T0 + 53 },
    /* combinations: the earliest rule decides */
    { "expires before timeout", true, T0 + 2, 10, 0, 0, 0, MS (T0 + 3),
      LIFECYCLE_EXPIRED, T0 + 2 },
    { "timeout before expires", true, T0 + 100, 2, 0, 0, 0, MS (T0 + 3),
      LIFECYCLE_TIMED_OUT, T0 + 3 },
    { "timeout and idle: shorter wins", false, 0, 10, 2, 0, 0, MS (T0 + 3),
      LIFECYCLE_IDLE, T0 + 3 },
    { "timeout and idle: deadline is the earlier", false, 0, 10, 20, 0, 0,
      MS (T0 + 1), LIFECYCLE_OPEN, T0 + 11 },
    { "deadline rounds up to the second", false, 0, 1, 0, 0,
      MS (T0 + 1) + 1, MS (T0 + 1) + 2, LIFECYCLE_OPEN, T0 + 3 },
    /* Values too large for milliseconds mean "never", not "long ago". */
    { "expires past the millisecond range", true, INT64_MAX / 10, 0, 0, 0,
      0, MS (T0), LIFECYCLE_OPEN, INT64_MAX / 10 },
    { "timeout past the millisecond range", false, 0, INT64_MAX / 10, 0, 0,
      0, MS (T0), LIFECYCLE_OPEN, INT64_MAX / 1000 + 1 },
    { "idle past the millisecond range", false, 0, 0, INT64_MAX - 5, 0, 0,
      MS (T0), LIFECYCLE_OPEN, INT64_MAX / 1000 + 1 },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct transfer t;
    struct lifecycle_activity a = {
      .in_flight = cases[i].in_flight,
      .last_activity_ms = cases[i].last_ms,
    };
    enum lifecycle_state got;
    int64_t deadline = -2;

    memset (&t, 0, sizeof t);
    snprintf (t.id, sizeof t.id, "lc-%zu", i);
    t.spool_mtime = T0;
    t.has_expires = cases[i].has_expires;
    t.expires = cases[i].expires;
    t.timeout = cases[i].timeout;
    t.inactivity_timeout = cases[i].idle;
    got = lifecycle_evaluate (&t, &a, cases[i].now_ms, &deadline);
    tap_ok (got == cases[i].want, "%s: %s (want %s)", cases[i].name,
            lifecycle_state_name (got), lifecycle_state_name (cases[i].want));
    tap_ok (deadline == cases[i].want_deadline,
            "%s: deadline %lld (want %lld)", cases[i].name,
            (long long) deadline, (long long) cases[i].want_deadline);
  }

  /* lifecycle_check without a shared table degrades to the mtime. */
  {
    struct transfer t;

    memset (&t, 0, sizeof t);
    snprintf (t.id, sizeof t.id, "no-table");
    t.spool_mtime = T0;
    t.timeout = 5;
    tap_ok (lifecycle_check (&t, T0 + 5) == LIFECYCLE_OPEN,
            "no table: open before mtime + timeout");
    tap_ok (lifecycle_check (&t, T0 + 6) == LIFECYCLE_TIMED_OUT,
            "no table: timed out at mtime + timeout");
  }
  for (int s = LIFECYCLE_OPEN; s <= LIFECYCLE_IDLE; s++)
    tap_ok (strcmp (lifecycle_state_name ((enum lifecycle_state) s),
                    "unknown") != 0, "state %d has a name", s);
  return tap_done ();
}
