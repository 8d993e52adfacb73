/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl watch: a live progress line for one transfer. */
#include <config.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cleanup.h"
#include "ctl.h"
#include "error.h"
#include "stats.h"
#include "transfer-status.h"

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

/* What one tick knows, and what it needs of the tick before. */
struct watch_sample {
  int64_t ms;
  uint64_t bytes;             /* read + written */
  uint64_t transferred;       /* distinct bytes touched */
};

struct watch {
  const char *id;
  bool json, tty;
  bool size_known, size_tried;
  uint64_t size;
  struct watch_sample last;
};

/* The transfer's size: the descriptor's, else its backend's, asked
 * once (for NBD that is a connection; not on every tick). */
static void
watch_size (struct watch *w, const struct transfer_status *st)
{
  struct backend *b;

  if (w->size_tried || !st->valid)
    return;
  w->size_tried = true;
  if (st->t.has_size) {
    w->size = st->t.size;
    w->size_known = true;
    return;
  }
  b = backend_open (&st->t, false);
  if (b == NULL)
    return;                   /* shown without percent and ETA */
  w->size = b->size;
  w->size_known = true;
  backend_close (b);
}

/* bytes/s between two samples, 0 for the first. */
static double
per_second (uint64_t now, uint64_t before, int64_t ms, int64_t before_ms)
{
  if (before_ms == 0 || ms <= before_ms || now < before)
    return 0;
  return (double) (now - before) * 1000.0 / (double) (ms - before_ms);
}

static void
print_json (const struct watch *w, const struct transfer_status *st,
            uint64_t transferred, double rate, double percent, int64_t eta)
{
  CLEANUP_JSON_PUT json_object *o = json_object_new_object ();
  char text[32];

  if (o == NULL)
    return;
  json_object_object_add (o, "time", json_object_new_int64 (time (NULL)));
  json_object_object_add (o, "id", json_object_new_string (w->id));
  json_object_object_add (o, "state", json_object_new_string
                          (transfer_state_name (st->state)));
  json_object_object_add (o, "bytes_read",
                          json_object_new_uint64 (st->stats.bytes_read));
  json_object_object_add (o, "bytes_written",
                          json_object_new_uint64 (st->stats.bytes_written));
  json_object_object_add (o, "bytes", json_object_new_uint64
                          (st->stats.bytes_read + st->stats.bytes_written));
  json_object_object_add (o, "transferred",
                          json_object_new_uint64 (transferred));
  json_object_object_add (o, "size", w->size_known
                          ? json_object_new_uint64 (w->size) : NULL);
  snprintf (text, sizeof text, "%.0f", rate);
  json_object_object_add (o, "rate", json_object_new_double_s (rate, text));
  snprintf (text, sizeof text, "%.1f", percent);
  json_object_object_add (o, "percent", percent >= 0
                          ? json_object_new_double_s (percent, text) : NULL);
  json_object_object_add (o, "eta_seconds",
                          eta >= 0 ? json_object_new_int64 (eta) : NULL);
  json_object_object_add (o, "in_flight",
                          json_object_new_int64 (st->stats.in_flight));
  json_object_object_add (o, "idle_time", st->valid
                          ? json_object_new_int64 (st->idle_time) : NULL);
  printf ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
}

static void
print_line (const struct watch *w, const struct transfer_status *st,
            double rate, double percent, int64_t eta)
{
  char rd[32], wr[32], rt[32], idle[32] = "-", progress[64] = "";

  ctl_format_size (rd, sizeof rd, st->stats.bytes_read);
  ctl_format_size (wr, sizeof wr, st->stats.bytes_written);
  ctl_format_size (rt, sizeof rt, (unsigned long long) rate);
  if (st->valid)
    ctl_format_duration (idle, sizeof idle, st->idle_time);
  if (percent >= 0) {
    char left[32] = "-";

    if (eta >= 0)
      ctl_format_duration (left, sizeof left, eta);
    snprintf (progress, sizeof progress, "  %.1f%%  ETA %s", percent, left);
  }
  printf ("%s%s: %-9s read %s  written %s  %s/s%s  in flight %u  idle %s%s",
          w->tty ? "\r" : "", w->id, transfer_state_name (st->state), rd, wr,
          rt, progress, st->stats.in_flight, idle, w->tty ? "\033[K" : "\n");
}

/* One tick: percent from the distinct bytes touched, the ETA from the
 * rate they grow at (re-reading a range is no progress). */
static void
watch_tick (struct watch *w, const struct transfer_status *st, int64_t now)
{
  struct watch_sample s = {
    .ms = now,
    .bytes = st->stats.bytes_read + st->stats.bytes_written,
    .transferred = st->has_stats ? st->stats.transferred : 0,
  };
  double rate = per_second (s.bytes, w->last.bytes, now, w->last.ms);
  double progress_rate = per_second (s.transferred, w->last.transferred,
                                     now, w->last.ms);
  double percent = -1;
  int64_t eta = -1;

  watch_size (w, st);
  if (w->size_known && w->size > 0) {
    uint64_t done = s.transferred < w->size ? s.transferred : w->size;

    percent = (double) done * 100.0 / (double) w->size;
    if (done == w->size)
      eta = 0;
    else if (progress_rate > 0)
      eta = (int64_t) ((double) (w->size - done) / progress_rate + 0.5);
  }
  if (w->json)
    print_json (w, st, s.transferred, rate, percent, eta);
  else
    print_line (w, st, rate, percent, eta);
  fflush (stdout);
  w->last = s;
}

static int
run_watch (const struct config *cfg, int argc, char **argv)
{
  static const struct option options[] = {
    { "interval", required_argument, NULL, 'i' },
    { "count", required_argument, NULL, 'n' },
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  struct watch w = { .tty = isatty (STDOUT_FILENO) };
  struct sigaction sa;
  double interval = 1.0;
  long count = -1;             /* lines before stopping; -1: until the end */
  bool seen = false;
  int opt, ret = 0;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    char *end;

    switch (opt) {
    case 'i':
      interval = strtod (optarg, &end);
      if (*end || end == optarg || !(interval >= 0.1 && interval <= 3600))
        return ctl_usage_error (&ctl_watch, "--interval: 0.1 to 3600 "
                                "seconds");
      break;
    case 'n':
      count = strtol (optarg, &end, 10);
      if (*end || end == optarg || count < 1)
        return ctl_usage_error (&ctl_watch, "--count: a number >= 1");
      break;
    case 'j':
      w.json = true;
      break;
    default:
      return ctl_usage_error (&ctl_watch, "bad option");
    }
  }
  if (optind + 1 != argc)
    return ctl_usage_error (&ctl_watch, "expected one ID");
  w.id = argv[optind];
  if (w.json)
    w.tty = false;            /* one object a line, never redrawn */

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);

  while (!interrupted) {
    struct transfer_status st;
    int64_t now = stats_now_ms ();
    bool done;

    if (transfer_status_get (cfg->spool_dir, w.id, now, &st) == -1) {
      fprintf (stderr, "imagexferctl watch: %s\n", error_message ());
      return 1;
    }
    watch_tick (&w, &st, now);
    done = st.state == TRANSFER_STATE_ABSENT
      || st.state == TRANSFER_STATE_CANCELLED
      || st.state == TRANSFER_STATE_EXPIRED
      || st.state == TRANSFER_STATE_INVALID;
    if (st.state == TRANSFER_STATE_ABSENT && !seen)
      ret = 1;
    seen = true;
    transfer_status_free (&st);
    if (done || (count > 0 && --count == 0))
      break;
    {
      struct timespec ts = {
        .tv_sec = (time_t) interval,
        .tv_nsec = (long) ((interval - (double) (time_t) interval) * 1e9),
      };

      nanosleep (&ts, NULL);   /* SIGINT cuts it short */
    }
  }
  if (w.tty)
    printf ("\n");
  return ret;
}

const struct ctl_command ctl_watch = {
  .name = "watch",
  .synopsis = "ID [--interval SECONDS] [--count N] [--json]",
  .help =
  "Follow a transfer: bytes read and written, rate, requests in flight,\n"
  "idle time, state; when its size is known (the descriptor's, else the\n"
  "image's), the share of it transferred and the time left at the current\n"
  "rate.  On a terminal the line is redrawn in place, else one\n"
  "line per interval (default 1 s).  Ends when the transfer is gone,\n"
  "expired or cancelled (exit status 0; 1 if it never existed), after N\n"
  "lines with --count, or on Ctrl-C.\n"
  "\n"
  "  --json   one JSON object a line: time, id, state, bytes_read,\n"
  "           bytes_written, bytes, transferred, size, rate (bytes/s),\n"
  "           percent, eta_seconds (null while unknown), in_flight,\n"
  "           idle_time\n",
  .run = run_watch,
};
