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

static int
run_watch (const struct config *cfg, int argc, char **argv)
{
  static const struct option options[] = {
    { "interval", required_argument, NULL, 'i' },
    { "count", required_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  struct sigaction sa;
  double interval = 1.0;
  long count = -1;             /* lines before stopping; -1: until the end */
  bool tty = isatty (STDOUT_FILENO);
  uint64_t last_bytes = 0;
  int64_t last_ms = 0;
  const char *id;
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
    default:
      return ctl_usage_error (&ctl_watch, "bad option");
    }
  }
  if (optind + 1 != argc)
    return ctl_usage_error (&ctl_watch, "expected one ID");
  id = argv[optind];

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);

  while (!interrupted) {
    struct transfer_status st;
    int64_t now = stats_now_ms ();
    uint64_t bytes;
    double rate = 0;
    char rd[32], wr[32], rt[32], idle[32] = "-";
    bool done;

    if (transfer_status_get (cfg->spool_dir, id, now, &st) == -1) {
      fprintf (stderr, "imagexferctl watch: %s\n", error_message ());
      return 1;
    }
    bytes = st.stats.bytes_read + st.stats.bytes_written;
    if (last_ms && now > last_ms && bytes >= last_bytes)
      rate = (double) (bytes - last_bytes) * 1000.0 / (double) (now - last_ms);
    last_bytes = bytes;
    last_ms = now;
    ctl_format_size (rd, sizeof rd, st.stats.bytes_read);
    ctl_format_size (wr, sizeof wr, st.stats.bytes_written);
    ctl_format_size (rt, sizeof rt, (unsigned long long) rate);
    if (st.valid)
      ctl_format_duration (idle, sizeof idle, st.idle_time);
    printf ("%s%s: %-9s read %s  written %s  %s/s  in flight %u  idle %s%s",
            tty ? "\r" : "", id, transfer_state_name (st.state), rd, wr, rt,
            st.stats.in_flight, idle, tty ? "\033[K" : "\n");
    fflush (stdout);
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
  if (tty)
    printf ("\n");
  return ret;
}

const struct ctl_command ctl_watch = {
  .name = "watch",
  .synopsis = "ID [--interval SECONDS] [--count N]",
  .help =
  "Follow a transfer: bytes read and written, rate, requests in flight,\n"
  "idle time, state.  On a terminal the line is redrawn in place, else one\n"
  "line per interval (default 1 s).  Ends when the transfer is gone,\n"
  "expired or cancelled (exit status 0; 1 if it never existed), after N\n"
  "lines with --count, or on Ctrl-C.\n",
  .run = run_watch,
};
