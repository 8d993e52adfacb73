/* The shared state table: mapping, rebuilding, and the write side
 * (the data path's hooks, supervisor and management updates).  Reading
 * is in stats-read.c, the event ring in events.c.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "log.h"
#include "stats-map.h"
#include "stats.h"

struct stats_map *stats_map;
bool stats_writable;

/* This process's request in flight. */
static struct stats_slot *my_slot;
static struct stats_entry *my_entry;
static bool my_in_flight;          /* between begin and end */
static unsigned my_scope;
static unsigned my_method;
static uint64_t my_position;       /* offset + bytes so far */
static struct timespec my_started; /* CLOCK_MONOTONIC */

#define ADD(field, n) __atomic_add_fetch (&(field), (n), __ATOMIC_RELAXED)
#define SUB(field, n) __atomic_sub_fetch (&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n (&(field), __ATOMIC_ACQUIRE)
#define STORE(field, v) __atomic_store_n (&(field), (v), __ATOMIC_RELEASE)

int64_t
stats_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mapping. */

static bool
map_valid (const struct stats_map *m)
{
  return m->header.magic == STATS_MAGIC
    && m->header.version == STATS_VERSION
    && m->header.header_size == sizeof m->header
    && m->header.size == sizeof *m;
}

static uint64_t
new_generation (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return ((uint64_t) ts.tv_sec << 32) ^ (uint64_t) ts.tv_nsec
    ^ ((uint64_t) getpid () << 16);
}

/* Write a fresh table under a temporary name and rename it into place,
 * so a process mapping the old file never sees a half-built one. */
static int
rebuild (const char *state_dir, const char *path)
{
  char tmp[PATH_MAX];
  struct stats_header h = {
    .magic = STATS_MAGIC,
    .version = STATS_VERSION,
    .header_size = sizeof (struct stats_header),
    .size = sizeof (struct stats_map),
    .generation = new_generation (),
  };
  int fd;

  if (snprintf (tmp, sizeof tmp, "%s/.stats.XXXXXX", state_dir)
      >= (int) sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkstemp (tmp);
  if (fd == -1)
    return -1;
  if (ftruncate (fd, (off_t) sizeof (struct stats_map)) == -1
      || pwrite (fd, &h, sizeof h, 0) != (ssize_t) sizeof h
      || fchmod (fd, 0644) == -1
      || rename (tmp, path) == -1) {
    int saved = errno;
    close (fd);
    unlink (tmp);
    errno = saved;
    return -1;
  }
  close (fd);
  return 0;
}

/* Open path and map it if it is a valid table.  Returns the mapping,
 * or NULL (errno EINVAL: exists but not valid). */
static struct stats_map *
map_file (const char *path, bool *writable)
{
  CLEANUP_CLOSE int fd = -1;
  struct stat st, st_path;
  struct stats_map *m;

  *writable = true;
  fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd == -1 && (errno == EACCES || errno == EROFS)) {
    *writable = false;
    fd = open (path, O_RDONLY | O_CLOEXEC);
  }
  if (fd == -1)
    return NULL;
  if (fstat (fd, &st) == -1)
    return NULL;
  if (!S_ISREG (st.st_mode) || st.st_size != (off_t) sizeof *m) {
    errno = EINVAL;
    return NULL;
  }
  m = mmap (NULL, sizeof *m, *writable ? PROT_READ | PROT_WRITE : PROT_READ,
            MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return NULL;
  if (!map_valid (m)) {
    munmap (m, sizeof *m);
    errno = EINVAL;
    return NULL;
  }
  /* Someone may have renamed a rebuilt table over the one we opened. */
  if (stat (path, &st_path) == -1 || st_path.st_ino != st.st_ino
      || st_path.st_dev != st.st_dev) {
    munmap (m, sizeof *m);
    errno = EAGAIN;
    return NULL;
  }
  return m;
}

static int
attach (const char *state_dir, bool create)
{
  char path[PATH_MAX];
  bool writable = false;

  if (stats_map)
    return 0;
  if (state_dir == NULL
      || snprintf (path, sizeof path, "%s/stats", state_dir)
         >= (int) sizeof path) {
    log_warning ("stats: no usable state_dir; statistics disabled");
    return -1;
  }
  for (int attempt = 0; attempt < 5; attempt++) {
    struct stats_map *m = map_file (path, &writable);

    if (m) {
      stats_map = m;
      stats_writable = writable;
      return 0;
    }
    if (!create)
      return -1;
    if (errno != ENOENT && errno != EINVAL && errno != EAGAIN) {
      log_warning ("stats: open %s: %m; statistics disabled", path);
      return -1;
    }
    if (errno != EAGAIN) {
      log_info ("stats: %s %s, building a new table", path,
                errno == ENOENT ? "missing" : "invalid");
      if (rebuild (state_dir, path) == -1) {
        log_warning ("stats: cannot build %s: %m; statistics disabled", path);
        return -1;
      }
    }
  }
  log_warning ("stats: %s keeps changing; statistics disabled", path);
  return -1;
}

int
stats_attach (const char *state_dir)
{
  return attach (state_dir, true);
}

int
stats_attach_existing (const char *state_dir)
{
  return attach (state_dir, false);
}

bool
stats_attached (void)
{
  return stats_map != NULL;
}

void
stats_detach (void)
{
  if (stats_map == NULL)
    return;
  if (my_in_flight)
    stats_request_end (0);
  if (my_slot && stats_writable
      && LOAD (my_slot->pid) == (int32_t) getpid ())
    STORE (my_slot->pid, 0);
  my_slot = NULL;
  munmap (stats_map, sizeof *stats_map);
  stats_map = NULL;
}

void
stats_copy_string (char *dst, size_t dstsize, const char *src,
                   size_t srcsize)
{
  size_t n = dstsize - 1 < srcsize ? dstsize - 1 : srcsize;

  memcpy (dst, src, n);
  dst[n] = '\0';
  dst[strnlen (dst, n)] = '\0';
}

/* Transfer entries: open addressing, linear probing, keyed by id. */

static uint32_t
hash_id (const char *id)
{
  uint32_t h = 2166136261u;    /* FNV-1a */

  for (; *id; id++)
    h = (h ^ (unsigned char) *id) * 16777619u;
  return h;
}

static bool
entry_is (struct stats_entry *e, const char *id)
{
  return LOAD (e->state) == ENTRY_READY
    && strncmp (e->id, id, sizeof e->id) == 0;
}

/* Wait (briefly) for a claimer to finish writing the key.  A claimer
 * that died half-way leaves CLAIMING behind: the entry is then skipped
 * for ever, which costs one entry, not correctness. */
static uint32_t
entry_settle (struct stats_entry *e)
{
  uint32_t state = LOAD (e->state);

  for (int spin = 0; state == ENTRY_CLAIMING && spin < 1000; spin++) {
    sched_yield ();
    state = LOAD (e->state);
  }
  return state;
}

static void
entry_reset_counters (struct stats_entry *e)
{
  STORE (e->flags, 0);
  STORE (e->bytes_read, 0);
  STORE (e->bytes_written, 0);
  STORE (e->transferred, 0);
  STORE (e->high_water, 0);
  STORE (e->requests, 0);
  STORE (e->errors, 0);
  STORE (e->first_seen_ms, 0);
  STORE (e->last_activity_ms, 0);
}

/* When the table is full, reuse the entry that has been idle longest,
 * if it has been idle for an hour: its transfer is almost surely gone.
 * A worker that looked it up just before may add one request to the
 * new owner's counters; acceptable for statistics. */
static struct stats_entry *
entry_reclaim (const char *id, int64_t now)
{
  struct stats_entry *oldest = NULL;

  for (size_t i = 0; i < STATS_TRANSFERS; i++) {
    struct stats_entry *e = &stats_map->entries[i];

    if (LOAD (e->state) == ENTRY_READY && LOAD (e->in_flight) == 0
        && now - LOAD (e->last_activity_ms) > 3600 * 1000
        && (oldest == NULL
            || LOAD (e->last_activity_ms) < LOAD (oldest->last_activity_ms)))
      oldest = e;
  }
  if (oldest) {
    uint32_t ready = ENTRY_READY;

    if (!__atomic_compare_exchange_n (&oldest->state, &ready, ENTRY_CLAIMING,
                                      false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
      return NULL;
    entry_reset_counters (oldest);
    memset (oldest->id, 0, sizeof oldest->id);
    snprintf (oldest->id, sizeof oldest->id, "%s", id);
    STORE (oldest->state, ENTRY_READY);
  }
  return oldest;
}

/* Find the entry for id; with create, make it when absent (*created
 * says so).  NULL when absent, or when the table is full. */
struct stats_entry *
stats_entry_find (const char *id, bool create, bool *created)
{
  uint32_t h = hash_id (id);

  if (created)
    *created = false;
  if (stats_map == NULL || id == NULL || id[0] == '\0')
    return NULL;
  for (uint32_t probe = 0; probe < STATS_TRANSFERS; probe++) {
    struct stats_entry *e =
      &stats_map->entries[(h + probe) & (STATS_TRANSFERS - 1)];
    uint32_t state = entry_settle (e);

    if (state == ENTRY_READY && entry_is (e, id))
      return e;
    if (state != ENTRY_EMPTY)
      continue;
    /* End of the probe chain: the id is not in the table. */
    if (!create || !stats_writable)
      return NULL;
    if (!__atomic_compare_exchange_n (&e->state, &state, ENTRY_CLAIMING,
                                      false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
      /* Someone else claimed it first, maybe for the same id. */
      if (entry_settle (e) == ENTRY_READY && entry_is (e, id))
        return e;
      continue;
    }
    entry_reset_counters (e);
    STORE (e->in_flight, 0);
    memset (e->id, 0, sizeof e->id);
    snprintf (e->id, sizeof e->id, "%s", id);
    STORE (e->state, ENTRY_READY);
    if (created)
      *created = true;
    return e;
  }
  if (!create || !stats_writable)
    return NULL;
  {
    struct stats_entry *e = entry_reclaim (id, stats_now_ms ());
    static bool warned;

    if (e && created)
      *created = true;
    if (e == NULL && !warned) {
      log_warning ("stats: transfer table full (%d entries); new transfers "
                   "have no counters", STATS_TRANSFERS);
      warned = true;
    }
    return e;
  }
}

/* Worker slots. */

int
stats_worker_register (void)
{
  int32_t pid = (int32_t) getpid ();

  if (stats_map == NULL || !stats_writable)
    return -1;
  if (my_slot && LOAD (my_slot->pid) == pid)
    return 0;
  my_slot = NULL;
  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];
    int32_t expected = 0;

    if (LOAD (s->pid) == 0
        && __atomic_compare_exchange_n (&s->pid, &expected, pid, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      STORE (s->in_flight, 0);
      STORE (s->entry, 0);
      my_slot = s;
      return 0;
    }
  }
  log_warning ("stats: all %d worker slots taken; requests in flight of "
               "pid %d are not shown", STATS_SLOTS, (int) pid);
  return -1;
}

/* Undo what a dead process's request in flight added, and free its
 * slot.  Returns the transfer it was serving (copied to id). */
static bool
slot_clear (struct stats_slot *s, char *id, size_t idsize)
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
      ADD (e->errors, 1);
      STORE (e->last_activity_ms, stats_now_ms ());
    }
    SUB (stats_map->counters[STATS_SCOPE_ALL].in_flight, 1);
    if (scope != STATS_SCOPE_ALL && scope < STATS_SCOPE_COUNT)
      SUB (stats_map->counters[scope].in_flight, 1);
    STORE (s->in_flight, 0);
  }
  STORE (s->entry, 0);
  STORE (s->pid, 0);
  return had_request;
}

void
stats_worker_exited_status (pid_t pid, int wait_status)
{
  char id[TRANSFER_ID_MAX + 1] = "";
  char how[64];

  if (stats_map == NULL || !stats_writable || pid <= 0)
    return;
  if (wait_status == -1)
    snprintf (how, sizeof how, "exited");
  else if (WIFSIGNALED (wait_status))
    snprintf (how, sizeof how, "was killed by signal %d",
              WTERMSIG (wait_status));
  else
    snprintf (how, sizeof how, "exited with status %d",
              WEXITSTATUS (wait_status));

  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];

    if (LOAD (s->pid) != (int32_t) pid)
      continue;
    if (slot_clear (s, id, sizeof id))
      events_record (LOG_LEVEL_ERROR, id,
                     "worker %d %s with a request in flight", (int) pid, how);
    else if (wait_status != -1 && (WIFSIGNALED (wait_status)
                                   || WEXITSTATUS (wait_status) != 0))
      events_record (LOG_LEVEL_WARNING, NULL, "worker %d %s", (int) pid, how);
    return;
  }
}

void
stats_worker_exited (pid_t pid)
{
  stats_worker_exited_status (pid, -1);
}

void
stats_supervisor_start (unsigned workers)
{
  char id[TRANSFER_ID_MAX + 1];

  if (stats_map == NULL || !stats_writable)
    return;
  STORE (stats_map->header.supervisor_pid, (int32_t) getpid ());
  STORE (stats_map->header.supervisor_start, (int64_t) time (NULL));
  STORE (stats_map->header.workers, workers);
  /* Slots of processes that no longer exist (an earlier run that was
   * killed): their requests are not in flight any more. */
  for (size_t i = 0; i < STATS_SLOTS; i++) {
    struct stats_slot *s = &stats_map->slots[i];
    int32_t pid = LOAD (s->pid);

    if (pid > 0 && kill (pid, 0) == -1 && errno == ESRCH)
      slot_clear (s, id, sizeof id);
  }
}

/* The data path's hooks. */

static unsigned
method_index (const char *method)
{
  static const char *const names[] = {
    [STATS_METHOD_GET] = "GET", [STATS_METHOD_HEAD] = "HEAD",
    [STATS_METHOD_PUT] = "PUT", [STATS_METHOD_PATCH] = "PATCH",
    [STATS_METHOD_POST] = "POST", [STATS_METHOD_OPTIONS] = "OPTIONS",
    [STATS_METHOD_DELETE] = "DELETE",
  };

  for (unsigned i = 0; method && i < STATS_METHOD_OTHER; i++)
    if (strcmp (method, names[i]) == 0)
      return i;
  return STATS_METHOD_OTHER;
}

static unsigned
scope_index (const char *backend)
{
  if (backend && strcmp (backend, "file") == 0)
    return STATS_SCOPE_FILE;
  if (backend && strcmp (backend, "nbd") == 0)
    return STATS_SCOPE_NBD;
  return STATS_SCOPE_OTHER;
}

void
stats_request_begin (const char *transfer_id, const char *backend,
                     const char *method, uint64_t offset)
{
  struct stats_slot *s;
  bool created = false;

  if (stats_map == NULL || !stats_writable)
    return;
  if (my_in_flight)
    stats_request_end (0);     /* the previous request never ended */
  if (my_slot == NULL || LOAD (my_slot->pid) != (int32_t) getpid ())
    stats_worker_register ();

  clock_gettime (CLOCK_MONOTONIC, &my_started);
  my_in_flight = true;
  my_scope = scope_index (backend);
  my_method = method_index (method);
  my_position = offset;
  my_entry = transfer_id ? stats_entry_find (transfer_id, true, &created)
                         : NULL;
  if (my_entry) {
    int64_t zero = 0;

    ADD (my_entry->in_flight, 1);
    /* The first request of this transfer (or of a new descriptor under
     * the same id, after stats_transfer_forget). */
    if (__atomic_compare_exchange_n (&my_entry->first_seen_ms, &zero,
                                     stats_now_ms (), false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      created = true;
  }
  ADD (stats_map->counters[STATS_SCOPE_ALL].in_flight, 1);
  ADD (stats_map->counters[my_scope].in_flight, 1);

  s = my_slot;
  if (s) {
    ADD (s->seq, 1);           /* odd: strings being written */
    snprintf (s->transfer_id, sizeof s->transfer_id, "%s",
              transfer_id ? transfer_id : "");
    snprintf (s->method, sizeof s->method, "%s", method ? method : "");
    snprintf (s->backend, sizeof s->backend, "%s", backend ? backend : "");
    STORE (s->offset, offset);
    STORE (s->bytes, 0);
    STORE (s->start_ms, stats_now_ms ());
    STORE (s->scope, my_scope);
    STORE (s->entry, my_entry ? (uint32_t) (my_entry - stats_map->entries) + 1
                              : 0);
    STORE (s->in_flight, 1);
    ADD (s->seq, 1);
  }
  if (created)
    events_record (LOG_LEVEL_INFO, transfer_id, "transfer opened: first "
                   "request %s", method ? method : "?");
}

/* Count the part of [start, end) past the entry's high-water mark. */
static void
add_distinct (struct stats_entry *e, uint64_t start, uint64_t end)
{
  uint64_t old = LOAD (e->high_water);

  while (end > old) {
    uint64_t from = start > old ? start : old;

    if (__atomic_compare_exchange_n (&e->high_water, &old, end, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      ADD (e->transferred, end - from);
      return;
    }
  }
}

void
stats_request_progress (uint64_t bytes, bool is_write)
{
  struct stats_counters *all, *scope;

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
  if (my_slot)
    ADD (my_slot->bytes, bytes);
  if (my_entry) {
    if (is_write)
      ADD (my_entry->bytes_written, bytes);
    else
      ADD (my_entry->bytes_read, bytes);
    add_distinct (my_entry, my_position, my_position + bytes);
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

void
stats_request_end (int http_status)
{
  struct timespec now;
  uint64_t us;
  bool failed = http_status >= 400 || http_status == 0;
  char id[TRANSFER_ID_MAX + 1] = "";
  uint64_t bytes = 0;

  if (stats_map == NULL || !stats_writable)
    return;
  if (!my_in_flight)
    return;                    /* no request began */
  my_in_flight = false;
  clock_gettime (CLOCK_MONOTONIC, &now);
  us = (uint64_t) (now.tv_sec - my_started.tv_sec) * 1000000
    + (uint64_t) ((now.tv_nsec - my_started.tv_nsec) / 1000);

  count_request (&stats_map->counters[STATS_SCOPE_ALL], http_status, us);
  count_request (&stats_map->counters[my_scope], http_status, us);
  if (my_entry) {
    ADD (my_entry->requests, 1);
    if (failed)
      ADD (my_entry->errors, 1);
    STORE (my_entry->last_activity_ms, stats_now_ms ());
    SUB (my_entry->in_flight, 1);
    stats_copy_string (id, sizeof id, my_entry->id, sizeof my_entry->id);
  }
  if (my_slot) {
    bytes = LOAD (my_slot->bytes);
    STORE (my_slot->in_flight, 0);
    STORE (my_slot->entry, 0);
  }

  /* Events: failures on the backend side, and completed requests that
   * moved data or changed the image (the access log already has every
   * request, so these are not logged again). */
  if (my_entry && (http_status >= 500 || http_status == 0))
    events_record (LOG_LEVEL_WARNING, id, "request failed: %s status %d "
                   "after %llu bytes", stats_method_name (my_method),
                   http_status, (unsigned long long) bytes);
  else if (my_entry && http_status < 300
           && (bytes > 0 || my_method == STATS_METHOD_PATCH
               || my_method == STATS_METHOD_POST))
    events_record_quiet (LOG_LEVEL_INFO, id, "request completed: %s "
                         "status %d, %llu bytes",
                         stats_method_name (my_method), http_status,
                         (unsigned long long) bytes);
  my_entry = NULL;
}

/* Management updates. */

void
stats_transfer_cancelled (const char *transfer_id)
{
  struct stats_entry *e;
  bool created;

  if (stats_map == NULL || !stats_writable) {
    log_info ("transfer %s: cancelled", transfer_id);
    return;
  }
  e = stats_entry_find (transfer_id, true, &created);
  if (e == NULL) {
    events_record (LOG_LEVEL_INFO, transfer_id, "transfer cancelled");
    return;
  }
  if (!(__atomic_fetch_or (&e->flags, ENTRY_FLAG_CANCELLED, __ATOMIC_ACQ_REL)
        & ENTRY_FLAG_CANCELLED))
    events_record (LOG_LEVEL_INFO, transfer_id, "transfer cancelled");
}

void
stats_transfer_forget (const char *transfer_id)
{
  struct stats_entry *e = stats_entry_find (transfer_id, false, NULL);

  if (e && stats_writable)
    entry_reset_counters (e);
}

bool
stats_transfer_note_expired (const char *transfer_id)
{
  struct stats_entry *e;

  if (stats_map == NULL || !stats_writable)
    return true;
  e = stats_entry_find (transfer_id, true, NULL);
  if (e == NULL)
    return true;
  return !(__atomic_fetch_or (&e->flags, ENTRY_FLAG_EXPIRED_REPORTED,
                              __ATOMIC_ACQ_REL)
           & ENTRY_FLAG_EXPIRED_REPORTED);
}

bool
stats_request_in_flight_for (const char *transfer_id)
{
  return stats_map && my_entry && transfer_id
    && strncmp (my_entry->id, transfer_id, sizeof my_entry->id) == 0;
}
