/* SPDX-License-Identifier: Apache-2.0 */
/* The shared state table: creation, rebuilding, slots, counters,
 * distinct bytes (merged ranges and their lock), counters restarted for
 * a re-created transfer, concurrent updates from several processes, the
 * event ring. */
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "stats-map.h"
#include "stats-ranges.h"
#include "stats.h"
#include "tap.h"

#define MiB (1024 * 1024)

static char dir[] = "/tmp/test-stats.XXXXXX";
static char path[64];

static off_t
file_size (void)
{
  struct stat st;

  return stat (path, &st) == 0 ? st.st_size : -1;
}

static void
write_file (const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd == -1 || write (fd, data, len) != (ssize_t) len)
    abort ();
  close (fd);
}

static void
test_attach_and_rebuild (void)
{
  static const struct {
    const char *name;
    size_t len;                /* 0: no file; else bytes of garbage */
    bool keep_header;          /* a valid table, wrong version */
  } cases[] = {
    { "missing file", 0, false },
    { "empty file", 1, false },
    { "short file", 4096, false },
    { "garbage of the right size", (size_t) -1, false },
    { "valid header, wrong version", (size_t) -2, true },
  };
  struct stats_daemon_info d;
  off_t good_size;

  tap_ok (stats_attach_existing (dir) == -1,
          "attach_existing does not create a table");
  tap_ok (stats_attach (dir) == 0, "attach creates a table");
  good_size = file_size ();
  tap_ok (good_size > 4096, "table file has its size (%lld)",
          (long long) good_size);
  tap_ok (stats_daemon (&d) == 0 && d.generation != 0,
          "header carries a generation");
  stats_detach ();

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = cases[i].len;
    char *buf;
    struct stats_global_info g;

    unlink (path);
    if (len == (size_t) -1 || len == (size_t) -2)
      len = (size_t) good_size;
    if (cases[i].len != 0) {
      buf = malloc (len);
      memset (buf, 0x5a, len);
      if (cases[i].keep_header) {
        /* Take a real header and bump its version field. */
        int fd;

        stats_attach (dir);
        stats_detach ();
        fd = open (path, O_RDONLY);
        if (read (fd, buf, len) != (ssize_t) len)
          abort ();
        close (fd);
        buf[8]++;              /* version: after the 8-byte magic */
      }
      write_file (buf, len);
      free (buf);
      tap_ok (stats_attach_existing (dir) == -1,
              "%s: attach_existing refuses it", cases[i].name);
    }
    tap_ok (stats_attach (dir) == 0, "%s: attach succeeds", cases[i].name);
    tap_ok (file_size () == good_size, "%s: rebuilt with the right size",
            cases[i].name);
    tap_ok (stats_global (STATS_SCOPE_ALL, &g) == 0 && g.requests == 0,
            "%s: counters start at zero", cases[i].name);
    stats_detach ();
  }

  tap_ok (stats_attach ("/nonexistent/dir") == -1,
          "attach in a missing directory fails");
  /* Every hook is a no-op without a table. */
  stats_request_begin ("t", "file", "GET", 0);
  stats_request_progress (10, false);
  stats_request_end (200);
  stats_worker_exited (1, 0);
  tap_ok (stats_worker_register () == -1 && !stats_attached (),
          "hooks are no-ops without a table");
}

static void
test_counters (void)
{
  struct stats_slot_info slots[STATS_SLOTS];
  struct stats_transfer_info t;
  struct stats_global_info all, file, nbd;
  size_t n;

  tap_ok (stats_attach (dir) == 0, "attach again");
  tap_ok (stats_worker_register () == 0, "claim a slot");
  n = stats_slots (slots, STATS_SLOTS);
  tap_ok (n == 1 && slots[0].pid == getpid () && !slots[0].in_flight,
          "one slot, ours, idle");

  stats_request_begin ("disk-1", "file", "PUT", 0);
  n = stats_slots (slots, STATS_SLOTS);
  tap_ok (n == 1 && slots[0].in_flight
          && strcmp (slots[0].transfer_id, "disk-1") == 0
          && strcmp (slots[0].method, "PUT") == 0
          && strcmp (slots[0].backend, "file") == 0,
          "slot shows the request in flight");
  tap_ok (stats_transfer ("disk-1", &t) == 0 && t.in_flight == 1,
          "transfer has one request in flight");
  stats_request_progress (1000, true);
  stats_request_progress (24, true);
  n = stats_slots (slots, STATS_SLOTS);
  tap_ok (n == 1 && slots[0].bytes == 1024, "slot counts bytes so far");
  stats_request_end (200);

  stats_request_begin ("disk-1", "file", "GET", 512);
  stats_request_progress (1024, false);    /* [512, 1536): 512 new */
  stats_request_end (206);
  stats_request_begin ("disk-1", "file", "GET", 0);
  stats_request_progress (1536, false);    /* nothing new */
  stats_request_end (200);
  stats_request_begin ("disk-2", "nbd", "GET", 0);
  stats_request_end (416);

  tap_ok (stats_transfer ("disk-1", &t) == 0, "transfer entry exists");
  tap_ok (t.in_flight == 0, "nothing in flight after end");
  tap_ok (t.requests == 3 && t.errors == 0, "3 requests, no errors");
  tap_ok (t.bytes_written == 1024 && t.bytes_read == 2560,
          "bytes read/written per transfer (%llu/%llu)",
          (unsigned long long) t.bytes_read,
          (unsigned long long) t.bytes_written);
  tap_ok (t.transferred == 1536 && t.transferred_exact,
          "distinct bytes, exact (%llu)", (unsigned long long) t.transferred);
  tap_ok (t.last_activity_ms > 0 && t.first_seen_ms > 0,
          "activity timestamps set");
  tap_ok (stats_transfer ("disk-3", &t) == -1, "unknown transfer: none");

  stats_global (STATS_SCOPE_ALL, &all);
  /* Scopes follow the backend registry's order. */
  tap_ok (strcmp (stats_scope_name (STATS_SCOPE_ALL), "all") == 0
          && strcmp (stats_scope_name (STATS_SCOPE_FIRST_BACKEND), "file") == 0
          && strcmp (stats_scope_name (STATS_SCOPE_FIRST_BACKEND + 1), "nbd")
             == 0
          && strcmp (stats_scope_name (STATS_SCOPE_FIRST_BACKEND + 2), "http")
             == 0
          && stats_scope_name (STATS_SCOPE_FIRST_BACKEND + 3) == NULL
          && strcmp (stats_scope_name (STATS_SCOPE_OTHER), "other") == 0,
          "scope names: all, the registry's backends, other");
  stats_global (STATS_SCOPE_FIRST_BACKEND, &file);
  stats_global (STATS_SCOPE_FIRST_BACKEND + 1, &nbd);
  tap_ok (all.requests == 4 && file.requests == 3 && nbd.requests == 1,
          "requests by scope");
  tap_ok (all.by_method[STATS_METHOD_GET] == 3
          && all.by_method[STATS_METHOD_PUT] == 1, "requests by method");
  tap_ok (all.by_status[200] == 2 && all.by_status[206] == 1
          && all.by_status[416] == 1 && nbd.by_status[416] == 1,
          "responses by status");
  tap_ok (all.errors == 1 && nbd.errors == 1 && file.errors == 0,
          "errors are status >= 400");
  tap_ok (all.bytes_read == 2560 && all.bytes_written == 1024
          && nbd.bytes_read == 0, "global bytes");
  tap_ok (all.in_flight == 0, "nothing in flight globally");
  {
    uint64_t sum = 0;

    for (size_t i = 0; i < STATS_LATENCY_BUCKETS; i++)
      sum += all.latency[i];
    tap_ok (sum == 4, "latency histogram counts every request");
  }
  stats_transfer_cancelled ("disk-1");
  tap_ok (stats_transfer ("disk-1", &t) == 0 && t.cancelled,
          "cancelled mark");
  stats_transfer_installed ("disk-1", true);
  tap_ok (stats_transfer ("disk-1", &t) == 0 && !t.cancelled
          && t.requests == 3 && t.bytes_read == 2560 && t.transferred == 1536,
          "installed, replaced: counters kept, cancelled mark cleared");
  stats_transfer_installed ("disk-1", false);
  tap_ok (stats_transfer ("disk-1", &t) == 0 && !t.cancelled
          && t.requests == 0 && t.bytes_read == 0 && t.transferred == 0
          && t.first_seen_ms == 0, "installed, new: counters zeroed");
}

/* The merge on a plain array: each case adds ranges in order and checks
 * the set, the sum and whether it stayed exact. */
static void
test_ranges_merge (void)
{
  static const struct {
    const char *name;
    uint64_t add[24][2];       /* [start, end); ends at {0, 0} */
    uint32_t want_n;
    uint64_t want_sum;
    bool want_exact;
  } cases[] = {
    { "one range", { { 0, 10 } }, 1, 10, true },
    { "empty range adds nothing", { { 5, 5 }, { 7, 3 } }, 0, 0, true },
    { "sequential chunks join", { { 0, 4 }, { 4, 8 }, { 8, 12 } }, 1, 12,
      true },
    { "descending chunks join", { { 8, 12 }, { 4, 8 }, { 0, 4 } }, 1, 12,
      true },
    { "re-read adds nothing", { { 0, 100 }, { 10, 20 }, { 0, 100 } }, 1, 100,
      true },
    { "overlap extends", { { 10, 20 }, { 15, 30 }, { 5, 12 } }, 1, 25, true },
    { "apart stay apart", { { 0, 1 }, { 10, 11 }, { 5, 6 } }, 3, 3, true },
    { "one range bridges three", { { 0, 1 }, { 4, 5 }, { 8, 9 }, { 1, 8 } },
      1, 9, true },
    { "huge offsets", { { UINT64_MAX - 10, UINT64_MAX }, { 0, 10 } }, 2, 20,
      true },
    { "16 apart fit",
      { { 0, 1 }, { 10, 11 }, { 20, 21 }, { 30, 31 }, { 40, 41 }, { 50, 51 },
        { 60, 61 }, { 70, 71 }, { 80, 81 }, { 90, 91 }, { 100, 101 },
        { 110, 111 }, { 120, 121 }, { 130, 131 }, { 140, 141 },
        { 150, 151 } }, 16, 16, true },
    /* The 17th joins the closest pair, 33-34 and 35-36: gap 1 counted. */
    { "17th apart joins the closest pair",
      { { 0, 1 }, { 10, 11 }, { 20, 21 }, { 33, 34 }, { 40, 41 }, { 50, 51 },
        { 60, 61 }, { 70, 71 }, { 80, 81 }, { 90, 91 }, { 100, 101 },
        { 110, 111 }, { 120, 121 }, { 130, 131 }, { 140, 141 },
        { 150, 151 }, { 35, 36 } }, 16, 18, false },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct stats_range r[STATS_RANGES];
    uint32_t n = 0;
    bool exact = true, sorted = true;

    for (size_t j = 0; cases[i].add[j][0] || cases[i].add[j][1]; j++)
      exact &= stats_ranges_merge (r, &n, cases[i].add[j][0],
                                   cases[i].add[j][1]);
    for (uint32_t j = 1; j < n; j++)
      sorted = sorted && r[j - 1].end < r[j].start;
    tap_ok (n == cases[i].want_n && sorted
            && stats_ranges_sum (r, n) == cases[i].want_sum
            && exact == cases[i].want_exact,
            "ranges: %s (n %u, sum %llu)", cases[i].name, n,
            (unsigned long long) stats_ranges_sum (r, n));
  }
}

/* One ranged request of len bytes at offset, moved in 4 chunks. */
static void
ranged_put (const char *id, uint64_t offset, uint64_t len)
{
  stats_request_begin (id, "file", "PUT", offset);
  for (int c = 0; c < 4; c++)
    stats_request_progress (len / 4, true);
  stats_request_end (200);
}

/* A request refused because the transfer closed is no activity. */
static void
test_refused (void)
{
  struct stats_transfer_info before, after;

  ranged_put ("closed", 0, 4);
  stats_transfer ("closed", &before);
  usleep (20000);
  stats_request_begin ("closed", "file", "GET", 0);
  stats_request_refused ();
  stats_request_end (403);
  stats_transfer ("closed", &after);
  tap_ok (after.requests == before.requests + 1
          && after.errors == before.errors + 1
          && after.last_activity_ms == before.last_activity_ms,
          "a refused request counts, but is no activity");
  ranged_put ("closed", 0, 4);
  stats_transfer ("closed", &after);
  tap_ok (after.last_activity_ms > before.last_activity_ms,
          "the next request is activity again");
}

static void
test_distinct_bytes (void)
{
  struct stats_transfer_info t;
  uint64_t written = 0;

  /* The review's case: 8 ranged 1 MiB PUTs from 7 MiB down to 0. */
  for (int i = 7; i >= 0; i--)
    ranged_put ("ooo", (uint64_t) i * MiB, MiB);
  stats_transfer ("ooo", &t);
  tap_ok (t.transferred == 8ull * MiB && t.transferred_exact
          && t.bytes_written == 8ull * MiB,
          "descending ranged writes: 8 MiB distinct (%llu)",
          (unsigned long long) t.transferred);
  ranged_put ("ooo", 2 * MiB, 4 * MiB);
  tap_ok (stats_transfer ("ooo", &t) == 0 && t.transferred == 8ull * MiB
          && t.bytes_written == 12ull * MiB, "rewriting adds nothing");

  /* More separate ranges than the set holds: an upper bound. */
  for (int i = 0; i < 40; i++) {
    ranged_put ("scatter", (uint64_t) i * 1000, 4);
    written += 4;
  }
  stats_transfer ("scatter", &t);
  tap_ok (!t.transferred_exact && t.transferred >= written && t.transferred <= 39 * 1000 + 4,
          "40 scattered ranges: inexact, an upper bound (%llu >= %llu)",
          (unsigned long long) t.transferred, (unsigned long long) written);
}

/* The lock of a worker killed inside the merge. */
static void
test_ranges_lock (void)
{
  struct stats_transfer_info t;
  struct stats_entry *e;
  struct timespec t0, t1;
  pid_t dead, alive;
  int status;
  double secs;

  ranged_put ("locked", 0, 4096);
  e = stats_entry_find ("locked", false, NULL);
  dead = fork ();
  if (dead == 0)
    _exit (0);
  waitpid (dead, &status, 0);
  __atomic_store_n (&e->ranges_lock, (int32_t) dead, __ATOMIC_RELEASE);
  ranged_put ("locked", 4096, 4096);
  tap_ok (stats_transfer ("locked", &t) == 0 && t.transferred == 8192
          && !t.transferred_exact
          && __atomic_load_n (&e->ranges_lock, __ATOMIC_ACQUIRE) == 0,
          "a dead holder's lock is taken over; count marked approximate");

  alive = fork ();
  if (alive == 0) {
    pause ();
    _exit (0);
  }
  stats_transfer_installed ("locked", false);
  __atomic_store_n (&e->ranges_lock, (int32_t) alive, __ATOMIC_RELEASE);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  stats_request_begin ("locked", "file", "GET", 0);
  stats_request_progress (100, false);
  stats_request_end (206);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  secs = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  tap_ok (stats_transfer ("locked", &t) == 0 && t.transferred == 100
          && !t.transferred_exact && secs < 1.0,
          "a live holder that never lets go: counted unmerged after a "
          "bounded wait (%.3f s)", secs);
  stats_ranges_unlock_dead (e, (int32_t) alive);
  tap_ok (__atomic_load_n (&e->ranges_lock, __ATOMIC_ACQUIRE) == 0,
          "the supervisor frees a reaped worker's lock");
  kill (alive, SIGKILL);
  waitpid (alive, &status, 0);
}

/* A child process (a worker) with a PUT in flight for id that has
 * written bytes; it waits to be killed. */
static pid_t
child_in_flight (const char *id, uint64_t bytes)
{
  int pipefd[2];
  pid_t pid;
  char c;

  if (pipe (pipefd) == -1)
    abort ();
  pid = fork ();
  if (pid == 0) {
    stats_worker_register ();
    stats_request_begin (id, "nbd", "PUT", 0);
    stats_request_progress (bytes, true);
    if (write (pipefd[1], "x", 1) != 1)
      _exit (1);
    pause ();
    _exit (0);
  }
  if (read (pipefd[0], &c, 1) != 1)
    abort ();
  close (pipefd[0]);
  close (pipefd[1]);
  return pid;
}

static size_t
count_events (const char *id, const char *text)
{
  static struct event_info ev[EVENTS_RING];
  size_t n = events_read (ev, EVENTS_RING), count = 0;

  for (size_t i = 0; i < n; i++)
    if (strcmp (ev[i].transfer_id, id) == 0 && strstr (ev[i].message, text))
      count++;
  return count;
}

/* A transfer re-created under the same id: the descriptor is newer
 * than the entry. */
static void
test_renew (void)
{
  struct stats_transfer_info t;
  int64_t before, mtime;
  size_t opened;
  pid_t child;
  int status;

  ranged_put ("again", 0, 4096);
  stats_transfer_cancelled ("again");
  stats_transfer_note_expired ("again");
  stats_transfer ("again", &t);
  before = t.since_ns;
  tap_ok (stats_transfer_renew ("again", before - 1)
          && stats_transfer ("again", &t) == 0 && t.requests == 1
          && t.cancelled, "an older descriptor: counters kept");
  tap_ok (stats_transfer_renew ("again", stats_now_ns ())
          && stats_transfer ("again", &t) == 0 && t.requests == 0
          && t.bytes_written == 0 && t.transferred == 0 && !t.cancelled
          && t.first_seen_ms == 0 && t.since_ns > before,
          "a newer descriptor: counters and marks restart");
  tap_ok (stats_transfer_note_expired ("again"),
          "the new transfer's expiry is reported again");

  /* Renewed while this process serves its first request (the data path
   * checks the lifecycle after the request began). */
  ranged_put ("again", 0, 4096);
  opened = count_events ("again", "transfer opened");
  stats_request_begin ("again", "file", "GET", 0);
  tap_ok (stats_transfer_renew ("again", stats_now_ns ())
          && stats_transfer ("again", &t) == 0 && t.in_flight == 1
          && t.first_seen_ms > 0, "renewed mid-request: this request "
          "opens the new transfer");
  stats_request_progress (10, false);
  stats_request_end (206);
  tap_ok (stats_transfer ("again", &t) == 0 && t.requests == 1
          && t.transferred == 10
          && count_events ("again", "transfer opened") == opened + 1,
          "... counted once, with one more \"opened\" event");

  /* Another worker's request in flight: the same transfer, extended. */
  child = child_in_flight ("again", 0);
  mtime = stats_now_ns ();
  tap_ok (stats_transfer_renew ("again", mtime)
          && stats_transfer ("again", &t) == 0 && t.requests == 1
          && t.in_flight == 1, "requests in flight elsewhere: kept");
  kill (child, SIGKILL);
  waitpid (child, &status, 0);
  stats_worker_exited (child, status);
  tap_ok (stats_transfer_renew ("again", mtime)
          && stats_transfer ("again", &t) == 0 && t.requests == 1,
          "... and bound to the new descriptor");
}

/* A worker that dies with a request in flight. */
static void
test_worker_crash (void)
{
  struct stats_slot_info slots[STATS_SLOTS];
  struct stats_transfer_info t;
  struct stats_global_info g;
  struct event_info ev[EVENTS_RING];
  int status;
  pid_t pid;
  size_t n;
  bool found = false;
  struct stats_slot *dead_slot = NULL;

  pid = child_in_flight ("crashy", 4096);
  n = stats_slots (slots, STATS_SLOTS);
  for (size_t i = 0; i < n; i++)
    if (slots[i].pid == pid && slots[i].in_flight && slots[i].bytes == 4096)
      found = true;
  tap_ok (found, "the child's slot shows its request");
  stats_global (STATS_SCOPE_ALL, &g);
  tap_ok (g.in_flight == 1, "one request in flight globally");
  /* As if it were killed while rewriting its slot: sequence odd. */
  for (size_t i = 0; i < STATS_SLOTS; i++)
    if (__atomic_load_n (&stats_map->slots[i].pid, __ATOMIC_ACQUIRE) == pid) {
      dead_slot = &stats_map->slots[i];
      __atomic_add_fetch (&dead_slot->seq, 1, __ATOMIC_ACQ_REL);
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  stats_worker_exited (pid, status);
  tap_ok (dead_slot != NULL
          && (__atomic_load_n (&dead_slot->seq, __ATOMIC_ACQUIRE) & 1) == 0,
          "a slot left half rewritten is readable again once freed");

  n = stats_slots (slots, STATS_SLOTS);
  found = false;
  for (size_t i = 0; i < n; i++)
    if (slots[i].pid == pid)
      found = true;
  tap_ok (!found, "the dead worker's slot is cleared");
  tap_ok (stats_transfer ("crashy", &t) == 0 && t.in_flight == 0
          && t.errors == 1, "its transfer has nothing in flight, one error");
  stats_global (STATS_SCOPE_ALL, &g);
  tap_ok (g.in_flight == 0, "nothing in flight globally");
  n = events_read (ev, EVENTS_RING);
  tap_ok (n > 0 && strcmp (ev[n - 1].transfer_id, "crashy") == 0
          && strstr (ev[n - 1].message, "signal 9") != NULL,
          "event: worker crashed (%s)", n ? ev[n - 1].message : "none");
}

static int
count_race_7 (const struct stats_transfer_info *info, void *opaque)
{
  if (strcmp (info->id, "race-7") == 0)
    (*(int *) opaque)++;
  return 0;
}

#define CHILDREN 6
#define REQUESTS 3000

static void
test_concurrent (void)
{
  struct stats_transfer_info t;
  struct stats_global_info before, after;
  pid_t pids[CHILDREN];
  bool ok = true;
  int count_entries = 0;

  stats_global (STATS_SCOPE_ALL, &before);
  for (int c = 0; c < CHILDREN; c++) {
    pids[c] = fork ();
    if (pids[c] == 0) {
      char id[32];

      for (int r = 0; r < REQUESTS; r++) {
        /* All children race to create the same new ids. */
        snprintf (id, sizeof id, "race-%d", r % 50);
        stats_request_begin (id, "file", "GET", 0);
        stats_request_progress (3, false);
        stats_request_progress (4, true);
        stats_request_end (200);
      }
      stats_detach ();
      _exit (0);
    }
  }
  for (int c = 0; c < CHILDREN; c++) {
    int status;

    waitpid (pids[c], &status, 0);
    ok = ok && WIFEXITED (status) && WEXITSTATUS (status) == 0;
    stats_worker_exited (pids[c], status);
  }
  tap_ok (ok, "children exited cleanly");
  stats_global (STATS_SCOPE_ALL, &after);
  tap_ok (after.requests - before.requests == CHILDREN * REQUESTS,
          "requests add up exactly (%llu)",
          (unsigned long long) (after.requests - before.requests));
  tap_ok (after.bytes_read - before.bytes_read == 3ull * CHILDREN * REQUESTS
          && after.bytes_written - before.bytes_written
             == 4ull * CHILDREN * REQUESTS, "bytes add up exactly");
  tap_ok (after.in_flight == 0, "nothing left in flight");
  tap_ok (stats_transfer ("race-7", &t) == 0
          && t.requests == CHILDREN * REQUESTS / 50
          && t.bytes_read == 3ull * CHILDREN * REQUESTS / 50
          && t.in_flight == 0 && t.transferred == 7 && t.transferred_exact,
          "per-transfer counters add up exactly");
  stats_transfer_foreach (count_race_7, &count_entries);
  tap_ok (count_entries == 1, "each id has exactly one entry");
}

static void
test_events (void)
{
  struct event_info ev[EVENTS_RING];
  size_t n;
  bool ordered = true;

  for (int i = 0; i < EVENTS_RING + 44; i++)
    events_record_quiet (LOG_LEVEL_INFO, "ev", "event %d", i);
  n = events_read (ev, EVENTS_RING);
  tap_ok (n == EVENTS_RING, "ring keeps the last %d events (%zu)",
          EVENTS_RING, n);
  for (size_t i = 1; i < n; i++)
    ordered = ordered && ev[i].seq == ev[i - 1].seq + 1;
  tap_ok (ordered, "oldest first, consecutive");
  tap_ok (n && strcmp (ev[n - 1].message, "event 299") == 0,
          "newest last (%s)", n ? ev[n - 1].message : "");
  n = events_read (ev, 3);
  tap_ok (n == 3 && strcmp (ev[2].message, "event 299") == 0,
          "a smaller read gets the newest");
}

int
main (void)
{
  log_set_level (LOG_LEVEL_ERROR);
  if (mkdtemp (dir) == NULL)
    abort ();
  snprintf (path, sizeof path, "%s/stats", dir);

  test_attach_and_rebuild ();
  test_counters ();
  test_ranges_merge ();
  test_distinct_bytes ();
  test_ranges_lock ();
  test_refused ();
  test_renew ();
  test_worker_crash ();
  test_concurrent ();
  test_events ();

  stats_detach ();
  unlink (path);
  rmdir (dir);
  return tap_done ();
}
