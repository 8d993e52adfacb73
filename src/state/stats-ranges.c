/* SPDX-License-Identifier: Apache-2.0 */
/* "transferred": the distinct bytes of a transfer that requests read or
 * wrote, kept as a small set of merged byte ranges per transfer entry.
 *
 * Chunks are added as they move, in any order and from any worker:
 * eight ranged 1 MiB writes from 7 MiB down to 0 count 8 MiB, re-reading
 * the same bytes adds nothing.  The set holds STATS_RANGES ranges; a
 * chunk that would make one more joins the two closest neighbours over
 * the gap between them, so the sum becomes an upper bound and the entry
 * is marked inexact (status shows "transferred_exact": false).
 *
 * The set is updated under a per-entry spin lock: a CAS of 0 to the
 * owner's pid, held for a merge of at most STATS_RANGES + 1 ranges and
 * always released.  A worker killed inside that section must not wedge
 * the others: a waiter that finds the holder dead takes the lock over
 * (the supervisor frees it too when it reaps the worker); a waiter that
 * still cannot get it in LOCK_WAIT_NS counts the chunk in "unmerged"
 * instead, in full (maybe twice over), and marks the entry inexact.
 * Readers never lock: they read the published sum plus "unmerged".
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "process-id.h"
#include "stats-map.h"
#include "stats-ranges.h"

#define LOCK_WAIT_NS (20 * 1000 * 1000)

bool
stats_ranges_merge (struct stats_range *ranges, uint32_t *n, uint64_t start,
                    uint64_t end)
{
  struct stats_range r[STATS_RANGES + 1];
  uint32_t count = 0, i = 0;
  uint32_t len = *n < STATS_RANGES ? *n : STATS_RANGES;
  uint32_t closest = 0;
  bool exact = true;

  if (start >= end)
    return true;
  /* Before the new range, apart from it. */
  while (i < len && ranges[i].end < start)
    r[count++] = ranges[i++];
  /* Overlapping or touching it: one range. */
  for (; i < len && ranges[i].start <= end; i++) {
    if (ranges[i].start < start)
      start = ranges[i].start;
    if (ranges[i].end > end)
      end = ranges[i].end;
  }
  r[count].start = start;
  r[count++].end = end;
  while (i < len)
    r[count++] = ranges[i++];

  if (count > STATS_RANGES) {
    for (uint32_t k = 1; k + 1 < count; k++)
      if (r[k + 1].start - r[k].end < r[closest + 1].start - r[closest].end)
        closest = k;
    r[closest].end = r[closest + 1].end;
    memmove (&r[closest + 1], &r[closest + 2],
             (count - closest - 2) * sizeof r[0]);
    count--;
    exact = false;
  }
  /* At most len + 1 ranges were made and one joined when over: the set
   * fits, whatever another process left in it. */
  assert (count <= STATS_RANGES);
  memcpy (ranges, r, count * sizeof r[0]);
  *n = count;
  return exact;
}

uint64_t
stats_ranges_sum (const struct stats_range *ranges, uint32_t n)
{
  uint64_t sum = 0;

  for (uint32_t i = 0; i < n && i < STATS_RANGES; i++)
    if (ranges[i].end > ranges[i].start)
      sum += ranges[i].end - ranges[i].start;
  return sum;
}

static int64_t
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The lock's holder died: is it gone?  Our own pid cannot hold it (one
 * thread, no nesting): it is a dead process's whose pid we reuse. */
static bool
holder_dead (int32_t holder)
{
  return holder == (int32_t) process_id ()
    || (holder > 0 && kill (holder, 0) == -1 && errno == ESRCH);
}

static bool
ranges_lock (struct stats_entry *e)
{
  int32_t me = (int32_t) process_id ();
  int64_t deadline = 0;

  for (unsigned spin = 0;; spin++) {
    int32_t holder = 0;

    if (CAS (e->ranges_lock, &holder, me))
      return true;
    if (spin % 64 == 63) {
      if (holder_dead (holder) && CAS (e->ranges_lock, &holder, me)) {
        /* It may have left the set half-written. */
        SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
        return true;
      }
      if (deadline == 0)
        deadline = monotonic_ns () + LOCK_WAIT_NS;
      else if (monotonic_ns () > deadline)
        return false;
    }
    if (spin >= 8)
      sched_yield ();
  }
}

static void
ranges_unlock (struct stats_entry *e)
{
  int32_t me = (int32_t) process_id ();

  /* Fails only if a waiter took it over, believing us dead. */
  CAS (e->ranges_lock, &me, 0);
}

void
stats_ranges_add (struct stats_entry *e, uint64_t start, uint64_t end)
{
  uint32_t n;
  bool exact;

  if (end <= start)
    return;
  if (!ranges_lock (e)) {
    ADD (e->unmerged, end - start);
    SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
    return;
  }
  n = e->nranges;
  if (n > STATS_RANGES) {
    /* Not a count this code wrote: the file was scribbled on. */
    n = 0;
    SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
  }
  exact = stats_ranges_merge (e->ranges, &n, start, end);
  e->nranges = n;
  STORE (e->transferred, stats_ranges_sum (e->ranges, n));
  ranges_unlock (e);
  if (!exact)
    SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
}

void
stats_ranges_clear (struct stats_entry *e)
{
  bool locked = ranges_lock (e);

  e->nranges = 0;
  STORE (e->transferred, 0);
  STORE (e->unmerged, 0);
  if (locked)
    ranges_unlock (e);
  else
    SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
}

void
stats_ranges_unlock_dead (struct stats_entry *e, int32_t pid)
{
  if (CAS (e->ranges_lock, &pid, 0))
    SET_FLAGS (e->flags, ENTRY_FLAG_INEXACT);
}
