/* imagexferctl list / show: the status the management API shows, from
 * the same code (transfer-status.c). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "ctl.h"
#include "error.h"
#include "spool-admin.h"
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
    backend = st->t.backend == BACKEND_TYPE_FILE ? "file" : "nbd";
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

struct cancelled_ctx {
  const char *spool_dir;
  char **ids;
  int64_t now;
  bool json;
  json_object *list;
};

static int
list_cancelled (const struct stats_transfer_info *info, void *opaque)
{
  struct cancelled_ctx *ctx = opaque;
  struct transfer_status st;

  if (!info->cancelled)
    return 0;
  for (size_t i = 0; ctx->ids[i]; i++)
    if (strcmp (ctx->ids[i], info->id) == 0)
      return 0;
  if (transfer_status_get (ctx->spool_dir, info->id, ctx->now, &st) == 0
      && st.state == TRANSFER_STATE_CANCELLED) {
    if (ctx->json)
      json_object_array_add (ctx->list, transfer_status_to_json (&st, false));
    else
      print_row (&st);
  }
  transfer_status_free (&st);
  return 0;
}

static int
run_list (const struct config *cfg, int argc, char **argv)
{
  CLEANUP_JSON_PUT json_object *list = json_object_new_array ();
  int64_t now = stats_now_ms ();
  bool json;
  char **ids;

  if (parse_json_flag (&ctl_list, argc, argv, &json) == -1
      || optind != argc)
    return ctl_usage_error (&ctl_list, "unexpected arguments");
  ids = spool_list (cfg->spool_dir);
  if (ids == NULL) {
    fprintf (stderr, "imagexferctl list: %s\n", error_message ());
    return 1;
  }
  if (!json)
    printf ("%-24s %-5s %-10s %10s %10s %10s %6s %8s\n", "ID", "BACK",
            "STATE", "SIZE", "READ", "WRITTEN", "ACTIVE", "IDLE");
  for (size_t i = 0; ids[i]; i++) {
    struct transfer_status st;

    if (transfer_status_get (cfg->spool_dir, ids[i], now, &st) == 0
        && st.state != TRANSFER_STATE_ABSENT) {
      if (json)
        json_object_array_add (list, transfer_status_to_json (&st, false));
      else
        print_row (&st);
    }
    transfer_status_free (&st);
  }
  {
    struct cancelled_ctx ctx = { cfg->spool_dir, ids, now, json, list };

    stats_transfer_foreach (list_cancelled, &ctx);
  }
  spool_list_free (ids);
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

    printf ("%-14s %s\n", "backend",
            t->backend == BACKEND_TYPE_FILE ? "file" : "nbd");
    if (t->path)
      printf ("%-14s %s\n", "path", t->path);
    if (t->socket)
      printf ("%-14s %s\n", "socket", t->socket);
    if (t->host)
      printf ("%-14s %s:%s\n", "host", t->host, t->port ? t->port : "");
    if (t->export_name && (t->socket || t->host))
      printf ("%-14s %s\n", "export", t->export_name);
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
    printf ("%-14s %llu\n", "transferred",
            (unsigned long long) st.stats.transferred);
    if (st.stats.last_activity_ms > 0)
      print_time ("last activity", st.stats.last_activity_ms / 1000);
  }
  else
    printf ("%-14s %s\n", "counters", "none (no request yet, or no shared "
            "state)");
  transfer_status_free (&st);
  return 0;
}
