/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/metrics?format=prometheus: the shared counters, the
 * transfers by state, the build and the process metrics in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * The process metrics (process_*) follow the client libraries' names
 * and describe the daemon as a whole, the supervisor and its workers,
 * since a scrape lands on any one worker and that one alone says
 * little: CPU seconds of the supervisor, of the workers alive and of
 * those that have exited (the supervisor's waited-for children, so the
 * counter never goes back when a worker is replaced); resident memory
 * and open files summed over the supervisor and the workers alive
 * (pages they share are counted in each); the start time of the
 * supervisor.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-response.h"
#include "process-info.h"
#include "stats.h"
#include "transfer-status.h"

struct prom {
  char *buf;
  size_t len, alloc;
  bool failed;
};

__attribute__ ((format (printf, 2, 3))) static void
prom_printf (struct prom *p, const char *fmt, ...)
{
  va_list args;
  int n;

  for (;;) {
    size_t room = p->alloc - p->len;

    va_start (args, fmt);
    n = vsnprintf (p->buf ? p->buf + p->len : NULL, room, fmt, args);
    va_end (args);
    if (n < 0) {
      p->failed = true;
      return;
    }
    if ((size_t) n < room) {
      p->len += (size_t) n;
      return;
    }
    {
      size_t want = p->alloc ? p->alloc * 2 : 16384;
      char *b;

      while (want - p->len <= (size_t) n)
        want *= 2;
      b = realloc (p->buf, want);
      if (b == NULL) {
        p->failed = true;
        return;
      }
      p->buf = b;
      p->alloc = want;
    }
  }
}

static void
prom_head (struct prom *p, const char *name, const char *type,
           const char *help)
{
  prom_printf (p, "# HELP imagexfer_%s %s\n# TYPE imagexfer_%s %s\n", name,
               help, name, type);
}

/* A family with one sample per backend: the uint64_t at field in each
 * backend's counters. */
static void
prom_by_backend (struct prom *p, const char *name, const char *type,
                 const char *help, const struct stats_global_info *g,
                 size_t field)
{
  prom_head (p, name, type, help);
  for (int s = STATS_SCOPE_ALL + 1; s < STATS_SCOPE_COUNT; s++) {
    uint64_t value;

    if (stats_scope_name (s) == NULL)   /* no such backend */
      continue;
    memcpy (&value, (const char *) &g[s] + field, sizeof value);
    prom_printf (p, "imagexfer_%s{backend=\"%s\"} %" PRIu64 "\n", name,
                 stats_scope_name (s), value);
  }
}

/* A family named without the imagexfer_ prefix (the process_* ones
 * every Prometheus client library exports). */
static void
prom_head_plain (struct prom *p, const char *name, const char *type,
                 const char *help)
{
  prom_printf (p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_build_info (struct prom *p)
{
  prom_head (p, "build_info", "gauge",
             "Always 1; the labels say which build is running.");
  prom_printf (p, "imagexfer_build_info{version=\"%s\"} 1\n",
               PACKAGE_VERSION);
}

/* Every transfer operators see (the spool, and those cancelled
 * recently), as imagexferctl list and /api/v2/transfers count them. */
static void
prom_transfers (struct prom *p, const struct config *cfg)
{
  static const enum transfer_state states[] = {
    TRANSFER_STATE_READY, TRANSFER_STATE_ACTIVE, TRANSFER_STATE_EXPIRED,
    TRANSFER_STATE_CANCELLED, TRANSFER_STATE_INVALID,
  };
  uint64_t counts[TRANSFER_STATE_COUNT];

  /* An unreadable spool: no samples rather than wrong ones (and
   * /api/v1/daemon says why). */
  if (transfer_status_count (cfg->spool_dir, stats_now_ms (), counts) == -1)
    return;
  prom_head (p, "transfers", "gauge", "Transfers by state.");
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
    prom_printf (p, "imagexfer_transfers{state=\"%s\"} %" PRIu64 "\n",
                 transfer_state_name (states[i]), counts[states[i]]);
}

/* The workers: the supervisor's children, or where the kernel does not
 * list them, the workers that have claimed a slot in the table (one
 * does at its first request). */
static size_t
worker_pids (pid_t supervisor, pid_t *pids, size_t max)
{
  static struct stats_slot_info slots[STATS_SLOTS];
  int n = process_children (supervisor, pids, max);
  size_t count;

  if (n >= 0)
    return (size_t) n;
  count = stats_slots (slots, STATS_SLOTS);
  n = 0;
  for (size_t i = 0; i < count && (size_t) n < max; i++)
    if (slots[i].pid > 0 && slots[i].pid != supervisor)
      pids[n++] = slots[i].pid;
  return (size_t) n;
}

static void
prom_process (struct prom *p, const struct stats_daemon_info *d)
{
  pid_t pids[STATS_SLOTS];
  struct process_info supervisor, info;
  double cpu;
  uint64_t resident, fds;
  size_t n;

  if (d->supervisor_pid <= 0
      || process_info_read (d->supervisor_pid, &supervisor) == -1)
    return;
  cpu = supervisor.cpu_seconds + supervisor.children_cpu_seconds;
  resident = supervisor.resident_bytes;
  fds = supervisor.open_fds;
  n = worker_pids (d->supervisor_pid, pids, STATS_SLOTS);
  for (size_t i = 0; i < n; i++) {
    if (process_info_read (pids[i], &info) == -1)
      continue;               /* gone since */
    cpu += info.cpu_seconds;
    resident += info.resident_bytes;
    fds += info.open_fds;
  }
  prom_head_plain (p, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds "
                   "(supervisor and workers, exited ones included).");
  prom_printf (p, "process_cpu_seconds_total %.2f\n", cpu);
  prom_head_plain (p, "process_resident_memory_bytes", "gauge",
                   "Resident memory size in bytes (supervisor and workers).");
  prom_printf (p, "process_resident_memory_bytes %" PRIu64 "\n", resident);
  prom_head_plain (p, "process_open_fds", "gauge",
                   "Number of open file descriptors (supervisor and "
                   "workers).");
  prom_printf (p, "process_open_fds %" PRIu64 "\n", fds);
  prom_head_plain (p, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds "
                   "(the supervisor).");
  prom_printf (p, "process_start_time_seconds %.2f\n",
               supervisor.start_time);
}

void
api_prometheus (struct request *req, const struct config *cfg)
{
  struct stats_global_info g[STATS_SCOPE_COUNT];
  struct stats_daemon_info d;
  struct prom p = { 0 };
  uint64_t cumulative = 0;

  for (int s = 0; s < STATS_SCOPE_COUNT; s++)
    stats_global (s, &g[s]);
  stats_daemon (&d);

  prom_head (&p, "requests_total", "counter",
             "Requests completed, by method.");
  for (int m = 0; m < STATS_METHOD_COUNT; m++)
    prom_printf (&p, "imagexfer_requests_total{method=\"%s\"} %" PRIu64 "\n",
                 stats_method_name (m), g[0].by_method[m]);
  prom_head (&p, "responses_total", "counter",
             "Responses by HTTP status code (0: no response sent).");
  for (int s = 0; s <= STATS_STATUS_MAX; s++)
    if (g[0].by_status[s])
      prom_printf (&p, "imagexfer_responses_total{code=\"%d\"} %" PRIu64
                   "\n", s, g[0].by_status[s]);
  prom_by_backend (&p, "read_bytes_total", "counter",
                   "Bytes read from backends (sent to clients), by backend.",
                   g, offsetof (struct stats_global_info, bytes_read));
  prom_by_backend (&p, "written_bytes_total", "counter",
                   "Bytes written to backends (received from clients), by "
                   "backend.",
                   g, offsetof (struct stats_global_info, bytes_written));
  prom_by_backend (&p, "errors_total", "counter",
                   "Requests answered with a status >= 400 or aborted, by "
                   "backend.",
                   g, offsetof (struct stats_global_info, errors));
  prom_by_backend (&p, "requests_in_flight", "gauge",
                   "Requests being served now, by backend.",
                   g, offsetof (struct stats_global_info, in_flight));
  prom_head (&p, "request_duration_seconds", "histogram",
             "Time from the start of a request to its end.");
  for (int b = 0; b < STATS_LATENCY_BUCKETS; b++) {
    cumulative += g[0].latency[b];
    if (b < STATS_LATENCY_BUCKETS - 1)
      prom_printf (&p, "imagexfer_request_duration_seconds_bucket"
                   "{le=\"%g\"} %" PRIu64 "\n",
                   stats_latency_bounds_us[b] / 1e6, cumulative);
    else
      prom_printf (&p, "imagexfer_request_duration_seconds_bucket"
                   "{le=\"+Inf\"} %" PRIu64 "\n", cumulative);
  }
  prom_printf (&p, "imagexfer_request_duration_seconds_sum %.6f\n",
               g[0].latency_sum_us / 1e6);
  prom_printf (&p, "imagexfer_request_duration_seconds_count %" PRIu64 "\n",
               cumulative);
  prom_head (&p, "start_time_seconds", "gauge",
             "Start of the supervisor, Unix seconds.");
  prom_printf (&p, "imagexfer_start_time_seconds %" PRId64 "\n",
               d.start_time);
  prom_build_info (&p);
  prom_transfers (&p, cfg);
  prom_process (&p, &d);

  if (p.failed) {
    free (p.buf);
    api_error (req, 500, "out of memory");
    return;
  }
  if (response_begin (req, 200, "text/plain; version=0.0.4; charset=utf-8",
                      true, p.len) == 0)
    response_write (req, p.buf, p.len);
  free (p.buf);
}

