/* SPDX-License-Identifier: Apache-2.0 */
/* Worker slots in the shared table: each worker claims one (CAS on the
 * pid) and describes its request in flight there; the supervisor frees
 * the slots of workers that died and undoes what their requests had
 * added to the "in flight" gauges.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "process-id.h"
#include "stats-clock.h"
#include "stats-entry.h"
#include "stats-map.h"
#include "stats-ranges.h"
#include "stats-slots.h"

static struct stats_slot *my_slot;

/* A process killed while it rewrote its slot (stats.c, slot_begin) left
 * the sequence number odd, which readers take for "being written" and
 * skip.  Whoever takes over the slot from a dead or gone owner makes it
 * even again. */
static void
slot_seq_even (struct stats_slot *s)
{
  if (LOAD (s->seq) & 1)
    ADD (s->seq, 1);
}

int
stats_worker_register (void)
{
  int32_t pid = (int32_t) process_id ();

  if (stats_map == NULL || !stats_writable)
    return -1;
  if (my_slot && LOAD (my_slot->pid) == pid)
    return 0;
  my_slot = NULL;
  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];
    int32_t expected = 0;

    if (LOAD (s->pid) == 0 && CAS (s->pid, &expected, pid)) {
      STORE (s->in_flight, 0);
      STORE (s->entry, 0);
      slot_seq_even (s);
      my_slot = s;
      return 0;
    }
  }
  /* Every request asks again: say it once in a while, not each time. */
  stats_warn_limited ("stats: all %d worker slots taken; requests in "
                      "flight of pid %d are not shown", STATS_SLOTS,
                      (int) pid);
  return -1;
}

struct stats_slot *
stats_slot_mine (void)
{
  /* After a fork the slot is the parent's. */
  if (my_slot && LOAD (my_slot->pid) == (int32_t) process_id ())
    return my_slot;
  return NULL;
}

void
stats_slot_release_mine (void)
{
  int32_t pid = (int32_t) process_id ();

  if (my_slot && stats_writable)
    CAS (my_slot->pid, &pid, 0);
  my_slot = NULL;
}

/* Undo what a dead process's request in flight added, and free its
 * slot.  Returns whether it had one (its transfer copied to id). */
static bool
slot_clear (struct stats_slot *s, int32_t pid, char *id, size_t idsize)
{
  bool had_request = false;

  if (LOAD (s->in_flight)) {
    uint32_t entry = LOAD (s->entry);
    unsigned scope = LOAD (s->scope);

    had_request = true;
    stats_copy_string (id, idsize, s->transfer_id, sizeof s->transfer_id);
    if (entry > 0 && entry <= STATS_TRANSFERS) {
      struct stats_entry *e = &stats_map->entries[entry - 1];

      if (LOAD (e->in_flight) > 0)
        SUB (e->in_flight, 1);
      /* Its place under the transfer's cap is free again. */
      stats_entry_unclaim (e, LOAD (s->role));
      ADD (e->errors, 1);
      STORE (e->last_activity_ms, stats_now_ms ());
      stats_ranges_unlock_dead (e, pid);
    }
    SUB (stats_map->counters[STATS_SCOPE_ALL].in_flight, 1);
    if (scope != STATS_SCOPE_ALL && scope < STATS_SCOPE_COUNT)
      SUB (stats_map->counters[scope].in_flight, 1);
    STORE (s->in_flight, 0);
  }
  STORE (s->role, STATS_ROLE_NONE);
  STORE (s->entry, 0);
  slot_seq_even (s);
  STORE (s->pid, 0);
  return had_request;
}

/* "was killed by signal 9", "exited with status 1". */
static void
describe_exit (int wait_status, char *how, size_t size)
{
  if (WIFSIGNALED (wait_status))
    snprintf (how, size, "was killed by signal %d", WTERMSIG (wait_status));
  else
    snprintf (how, size, "exited with status %d", WEXITSTATUS (wait_status));
}

void
stats_worker_exited (pid_t pid, int wait_status)
{
  char id[TRANSFER_ID_MAX + 1] = "";
  char how[64];

  if (stats_map == NULL || !stats_writable || pid <= 0)
    return;
  describe_exit (wait_status, how, sizeof how);
  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];

    if (LOAD (s->pid) != (int32_t) pid)
      continue;
    if (slot_clear (s, (int32_t) pid, id, sizeof id))
      events_record (LOG_LEVEL_ERROR, id,
                     "worker %d %s with a request in flight", (int) pid, how);
    else if (WIFSIGNALED (wait_status) || WEXITSTATUS (wait_status) != 0)
      events_record (LOG_LEVEL_WARNING, NULL, "worker %d %s", (int) pid, how);
    return;
  }
}

void
stats_supervisor_start (unsigned workers)
{
  char id[TRANSFER_ID_MAX + 1];

  if (stats_map == NULL || !stats_writable)
    return;
  STORE (stats_map->header.supervisor_pid, (int32_t) process_id ());
  STORE (stats_map->header.supervisor_start, (int64_t) time (NULL));
  STORE (stats_map->header.workers, workers);
  /* Slots of processes that no longer exist (an earlier run that was
   * killed): their requests are not in flight any more. */
  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];
    int32_t pid = LOAD (s->pid);

    if (pid > 0 && kill (pid, 0) == -1 && errno == ESRCH)
      slot_clear (s, pid, id, sizeof id);
  }
}
