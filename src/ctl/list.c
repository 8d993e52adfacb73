/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl list / show: the status the management API shows, from
 * the same code (transfer-status.c). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "backend-registry.h"
#include "cleanup.h"
#include "ctl.h"
#include "error.h"
#include "stats.h"
#include "transfer-status.h"

static int run_list (const struct config *cfg, int argc, char **argv);
static int run_show (const struct config *cfg, int argc, char **argv);

const struct ctl_command ctl_list = {
  .name = "list",
  .synopsis = "[--json]",
  .help =
  "List every transfer in the spool (and recently cancelled ones still\n"
  "known to the shared state): id, backend, state, size, bytes read and\n"
  "written, requests in flight, idle time.\n",
  .run = run_list,
};

const struct ctl_command ctl_show = {
  .name = "show",
  .synopsis = "ID [--json]",
  .help =
  "Show one transfer: its normalized descriptor, state, counters, idle\n"
  "time and when it expires.  --json prints what\n"
  "GET /api/v2/transfers/ID answers.  Exit status 1 if unknown.\n",
  .run = run_show,
};

static int
parse_json_flag (const struct ctl_command *c, int argc, char **argv,
                 bool *json)
{
  static const struct option options[] = {
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  int opt;

  *json = false;
  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    if (opt != 'j')
      return -1;
    *json = true;
  }
  return 0;
}

static void
print_row (const struct transfer_status *st)
{
  char size[32] = "-", rd[32], wr[32], idle[32] = "-";
  const char *backend = "-";

  if (st->valid) {
    backend = st->t.type->name;
    if (st->t.has_size)
      ctl_format_size (size, sizeof size, st->t.size);
    ctl_format_duration (idle, sizeof idle, st->idle_time);
  }
  ctl_format_size (rd, sizeof rd, st->has_stats ? st->stats.bytes_read : 0);
  ctl_format_size (wr, sizeof wr, st->has_stats ? st->stats.bytes_written : 0);
  printf ("%-24s %-5s %-10s %10s %10s %10s %6u %8s\n", st->id, backend,
          transfer_state_name (st->state), size, rd, wr,
          st->has_stats ? st->stats.in_flight : 0u, idle);
}

static int
list_one (const struct transfer_status *st, void *list)
{
  if (list)
    json_object_array_add (list, transfer_status_to_json (st, false));
  else
    print_row (st);
  return 0;
}

static int
run_list (const struct config *cfg, int argc, char **argv)
{
  CLEANUP_JSON_PUT json_object *list = json_object_new_array ();
  bool json;

  if (parse_json_flag (&ctl_list, argc, argv, &json) == -1
      || optind != argc)
    return ctl_usage_error (&ctl_list, "unexpected arguments");
  if (!json)
    printf ("%-24s %-5s %-10s %10s %10s %10s %6s %8s\n", "ID", "BACK",
            "STATE", "SIZE", "READ", "WRITTEN", "ACTIVE", "IDLE");
  if (transfer_status_foreach (cfg->spool_dir, stats_now_ms (), list_one,
                               json ? list : NULL) == -1) {
    fprintf (stderr, "imagexferctl list: %s\n", error_message ());
    return 1;
  }
  if (json)
    printf ("%s\n", json_object_to_json_string_ext
            (list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  return 0;
}

static void
print_time (const char *label, int64_t seconds)
{
  char buf[64];
  struct tm tm;
  time_t t = (time_t) seconds;

  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf ("%-14s %s\n", label, buf);
}

static int
run_show (const struct config *cfg, int argc, char **argv)
{
  struct transfer_status st;
  CLEANUP_JSON_PUT json_object *obj = NULL;
  char buf[32];
  bool json;

  if (parse_json_flag (&ctl_show, argc, argv, &json) == -1
      || optind + 1 != argc)
    return ctl_usage_error (&ctl_show, "expected one ID");
  if (transfer_status_get (cfg->spool_dir, argv[optind], stats_now_ms (),
                           &st) == -1) {
    fprintf (stderr, "imagexferctl show: %s\n", error_message ());
    return 1;
  }
  if (st.state == TRANSFER_STATE_ABSENT) {
    fprintf (stderr, "imagexferctl show: no such transfer: %s\n",
             argv[optind]);
    return 1;
  }
  obj = transfer_status_to_json (&st, true);
  if (json) {
    printf ("%s\n", json_object_to_json_string_ext
            (obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    transfer_status_free (&st);
    return 0;
  }

  printf ("%-14s %s\n", "id", st.id);
  printf ("%-14s %s%s%s%s\n", "state", transfer_state_name (st.state),
          st.reason[0] ? " (" : "", st.reason, st.reason[0] ? ")" : "");
  if (st.valid) {
    const struct transfer *t = &st.t;

    printf ("%-14s %s\n", "backend", t->type->name);
    descriptor_print (stdout, t->type->fields, t->location, 14);
    if (t->has_size) {
      ctl_format_size (buf, sizeof buf, t->size);
      printf ("%-14s %llu (%s)\n", "size", (unsigned long long) t->size, buf);
    }
    printf ("%-14s %s\n", "ops",
            t->ops & TRANSFER_OP_WRITE ? "read, write" : "read");
    if (st.expires >= 0)
      print_time ("expires", st.expires);
    ctl_format_duration (buf, sizeof buf, st.idle_time);
    printf ("%-14s %s\n", "idle", buf);
  }
  if (st.has_stats) {
    printf ("%-14s %u\n", "in flight", st.stats.in_flight);
    printf ("%-14s %llu\n", "requests",
            (unsigned long long) st.stats.requests);
    printf ("%-14s %llu\n", "errors", (unsigned long long) st.stats.errors);
    printf ("%-14s %llu\n", "bytes read",
            (unsigned long long) st.stats.bytes_read);
    printf ("%-14s %llu\n", "bytes written",
            (unsigned long long) st.stats.bytes_written);
    printf ("%-14s %llu%s\n", "transferred",
            (unsigned long long) st.stats.transferred,
            st.stats.transferred_exact ? "" : " (approximate)");
    if (st.stats.last_activity_ms > 0)
      print_time ("last activity", st.stats.last_activity_ms / 1000);
  }
  else
    printf ("%-14s %s\n", "counters", "none (no request yet, or no shared "
            "state)");
  transfer_status_free (&st);
  return 0;
}
