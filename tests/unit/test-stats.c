/* The shared state table: creation, rebuilding, slots, counters,
 * concurrent updates from several processes, the event ring. */
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "stats.h"
#include "tap.h"

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
  stats_worker_exited (1);
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
  tap_ok (t.transferred == 1536, "distinct bytes by high-water mark (%llu)",
          (unsigned long long) t.transferred);
  tap_ok (t.last_activity_ms > 0 && t.first_seen_ms > 0,
          "activity timestamps set");
  tap_ok (stats_transfer ("disk-3", &t) == -1, "unknown transfer: none");

  stats_global (STATS_SCOPE_ALL, &all);
  stats_global (STATS_SCOPE_FILE, &file);
  stats_global (STATS_SCOPE_NBD, &nbd);
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
  stats_transfer_forget ("disk-1");
  tap_ok (stats_transfer ("disk-1", &t) == 0 && !t.cancelled
          && t.requests == 0 && t.bytes_read == 0,
          "forget zeroes the counters");
}

/* A worker that dies with a request in flight. */
static void
test_worker_crash (void)
{
  struct stats_slot_info slots[STATS_SLOTS];
  struct stats_transfer_info t;
  struct stats_global_info g;
  struct event_info ev[EVENTS_RING];
  int status, pipefd[2];
  pid_t pid;
  size_t n;
  char c;
  bool found = false;

  if (pipe (pipefd) == -1)
    abort ();
  pid = fork ();
  if (pid == 0) {
    stats_worker_register ();
    stats_request_begin ("crashy", "nbd", "PUT", 0);
    stats_request_progress (4096, true);
    if (write (pipefd[1], "x", 1) != 1)
      _exit (1);
    pause ();
    _exit (0);
  }
  if (read (pipefd[0], &c, 1) != 1)
    abort ();
  n = stats_slots (slots, STATS_SLOTS);
  for (size_t i = 0; i < n; i++)
    if (slots[i].pid == pid && slots[i].in_flight && slots[i].bytes == 4096)
      found = true;
  tap_ok (found, "the child's slot shows its request");
  stats_global (STATS_SCOPE_ALL, &g);
  tap_ok (g.in_flight == 1, "one request in flight globally");
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  stats_worker_exited_status (pid, status);

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
  close (pipefd[0]);
  close (pipefd[1]);
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
    stats_worker_exited_status (pids[c], status);
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
          && t.in_flight == 0, "per-transfer counters add up exactly");
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
  test_worker_crash ();
  test_concurrent ();
  test_events ();

  stats_detach ();
  unlink (path);
  rmdir (dir);
  return tap_done ();
}
