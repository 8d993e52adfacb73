/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer status for operators; see transfer-status.h. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-registry.h"
#include "cleanup.h"
#include "error.h"
#include "json-field.h"
#include "lifecycle.h"
#include "spool-admin.h"
#include "transfer-status.h"

const char *
transfer_state_name (enum transfer_state state)
{
  switch (state) {
  case TRANSFER_STATE_READY: return "ready";
  case TRANSFER_STATE_ACTIVE: return "active";
  case TRANSFER_STATE_EXPIRED: return "expired";
  case TRANSFER_STATE_CANCELLED: return "cancelled";
  case TRANSFER_STATE_INVALID: return "invalid";
  case TRANSFER_STATE_ABSENT: return "absent";
  case TRANSFER_STATE_COUNT: break;
  }
  return "unknown";
}

/* Read the descriptor as the workers do (transfer_read_descriptor,
 * transfer_parse), keeping the reason it is unusable, which
 * transfer_load only logs.  Returns 1 valid, 0 invalid (reason set),
 * -ENOENT absent, -1 other error. */
static int
load (const char *spool_dir, const char *id, struct transfer_status *st)
{
  CLEANUP_FREE char *text = NULL;
  struct stat sb;
  size_t len;

  if (transfer_read_descriptor (spool_dir, id, &text, &len, &sb) == -1) {
    if (error_errno () == ENOENT)
      return -ENOENT;
    if (error_errno () != EINVAL)
      return -1;
  }
  else if (transfer_parse (id, text, len, &st->t) == 0) {
    /* Parsed, but naming something that cannot be an image (a FIFO, a
     * directory): invalid, with the reason, rather than "ready". */
    if (st->t.type->probe != NULL
        && st->t.type->probe (st->t.location) == -1) {
      snprintf (st->reason, sizeof st->reason, "%s", error_message ());
      transfer_free (&st->t);
      return 0;
    }
    st->t.spool_dev = sb.st_dev;
    st->t.spool_ino = sb.st_ino;
    st->t.spool_mtime = sb.st_mtim.tv_sec;
    st->t.spool_mtime_nsec = sb.st_mtim.tv_nsec;
    st->valid = true;
    return 1;
  }
  else if (error_errno () != EINVAL)
    return -1;
  snprintf (st->reason, sizeof st->reason, "%s", error_message ());
  return 0;
}

int
transfer_status_get (const char *spool_dir, const char *id, int64_t now_ms,
                     struct transfer_status *st)
{
  struct lifecycle_activity activity = { 0 };
  enum lifecycle_state lc;
  int64_t base_ms;
  int r;

  memset (st, 0, sizeof *st);
  st->expires = -1;
  if (!transfer_id_valid (id)) {
    error_set (EINVAL, "invalid transfer id");
    return -1;
  }
  snprintf (st->id, sizeof st->id, "%s", id);
  r = load (spool_dir, id, st);
  if (r == -1)
    return -1;
  /* Counters of an earlier transfer under this id are not shown. */
  st->has_stats = (r != 1 || lifecycle_counters_current (&st->t))
    && stats_transfer (id, &st->stats) == 0;
  if (r == -ENOENT) {
    /* API.md: deleting the file cancels the transfer.  One the shared
     * state has seen and whose file is gone was cancelled, however it
     * was removed; an id never seen is simply absent. */
    st->state = st->has_stats ? TRANSFER_STATE_CANCELLED
                              : TRANSFER_STATE_ABSENT;
    return 0;
  }
  if (r == 0) {
    st->state = TRANSFER_STATE_INVALID;
    return 0;
  }

  if (st->has_stats) {
    activity.in_flight = st->stats.in_flight;
    activity.last_activity_ms = st->stats.last_activity_ms;
  }
  lc = lifecycle_evaluate (&st->t, &activity, now_ms, &st->expires);
  base_ms = lifecycle_idle_since_ms (&st->t, &activity, now_ms);
  st->idle_time = now_ms < base_ms ? 0 : (now_ms - base_ms) / 1000;

  if (lc != LIFECYCLE_OPEN) {
    st->state = TRANSFER_STATE_EXPIRED;
    snprintf (st->reason, sizeof st->reason, "%s", lifecycle_state_name (lc));
  }
  else if (activity.in_flight > 0)
    st->state = TRANSFER_STATE_ACTIVE;
  else
    st->state = TRANSFER_STATE_READY;
  return 0;
}

void
transfer_status_free (struct transfer_status *st)
{
  if (st->valid)
    transfer_free (&st->t);
  st->valid = false;
}

struct foreach_ctx {
  const char *spool_dir;
  int64_t now_ms;
  char **ids;                  /* in the spool */
  int (*fn) (const struct transfer_status *st, void *opaque);
  void *opaque;
  int stop;
};

/* Transfers cancelled recently are gone from the spool; the shared
 * table still remembers them (until their entry is reused). */
static int
each_cancelled (const struct stats_transfer_info *info, void *opaque)
{
  struct foreach_ctx *ctx = opaque;
  struct transfer_status st;

  if (!info->cancelled)
    return 0;
  for (size_t i = 0; ctx->ids[i]; i++)
    if (strcmp (ctx->ids[i], info->id) == 0)
      return 0;
  if (transfer_status_get (ctx->spool_dir, info->id, ctx->now_ms, &st) == 0
      && st.state == TRANSFER_STATE_CANCELLED)
    ctx->stop = ctx->fn (&st, ctx->opaque);
  transfer_status_free (&st);
  return ctx->stop;
}

int
transfer_status_foreach (const char *spool_dir, int64_t now_ms,
                         int (*fn) (const struct transfer_status *st,
                                    void *opaque),
                         void *opaque)
{
  struct foreach_ctx ctx = {
    .spool_dir = spool_dir, .now_ms = now_ms, .fn = fn, .opaque = opaque,
  };

  ctx.ids = spool_list (spool_dir);
  if (ctx.ids == NULL)
    return -1;
  for (size_t i = 0; ctx.ids[i] && !ctx.stop; i++) {
    struct transfer_status st;

    /* A file removed while we list is simply not listed. */
    if (transfer_status_get (spool_dir, ctx.ids[i], now_ms, &st) == 0
        && st.state != TRANSFER_STATE_ABSENT)
      ctx.stop = fn (&st, opaque);
    transfer_status_free (&st);
  }
  if (!ctx.stop)
    stats_transfer_foreach (each_cancelled, &ctx);
  spool_list_free (ctx.ids);
  return 0;
}

static int
count_one (const struct transfer_status *st, void *opaque)
{
  uint64_t *counts = opaque;

  counts[st->state]++;
  return 0;
}

int
transfer_status_count (const char *spool_dir, int64_t now_ms,
                       uint64_t counts[TRANSFER_STATE_COUNT])
{
  for (int i = 0; i < TRANSFER_STATE_COUNT; i++)
    counts[i] = 0;
  return transfer_status_foreach (spool_dir, now_ms, count_one, counts);
}

uint64_t
transfer_status_open (const uint64_t counts[TRANSFER_STATE_COUNT])
{
  return counts[TRANSFER_STATE_READY] + counts[TRANSFER_STATE_ACTIVE];
}

json_object *
transfer_status_to_json (const struct transfer_status *st, bool descriptor)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  const struct stats_transfer_info *s = &st->stats;
  bool counters = st->has_stats;
  json_object *ret;
  int err = 0;

  if (descriptor && st->valid) {
    obj = transfer_to_json (&st->t);
    if (obj == NULL)
      return NULL;
  }
  else {
    obj = json_object_new_object ();
    if (obj == NULL)
      goto nomem;
    err |= json_add (obj, "id", json_object_new_string (st->id));
    if (st->valid) {
      err |= json_add (obj, "backend",
                       json_object_new_string (st->t.type->name));
      if (st->t.has_size)
        err |= json_add (obj, "size", json_object_new_uint64 (st->t.size));
    }
  }

  err |= json_add (obj, "state",
              json_object_new_string (transfer_state_name (st->state)));
  if (st->reason[0])
    err |= json_add (obj, "reason", json_object_new_string (st->reason));
  err |= json_add (obj, "active",
              json_object_new_boolean (st->state == TRANSFER_STATE_ACTIVE));
  err |= json_add (obj, "connections",
              json_object_new_int64 (counters ? s->in_flight : 0));
  err |= json_add (obj, "bytes_read",
              json_object_new_uint64 (counters ? s->bytes_read : 0));
  err |= json_add (obj, "bytes_written",
              json_object_new_uint64 (counters ? s->bytes_written : 0));
  err |= json_add (obj, "transferred",
              json_object_new_uint64 (counters ? s->transferred : 0));
  err |= json_add (obj, "transferred_exact",
              json_object_new_boolean (!counters || s->transferred_exact));
  err |= json_add (obj, "requests",
              json_object_new_uint64 (counters ? s->requests : 0));
  err |= json_add (obj, "errors",
              json_object_new_uint64 (counters ? s->errors : 0));
  if (st->valid) {
    err |= json_add (obj, "idle_time", json_object_new_int64 (st->idle_time));
    /* The effective instant it closes: the earliest of expires and
     * the relative rules, which is what a client needs to know. */
    if (st->expires >= 0)
      err |= json_add (obj, "expires", json_object_new_int64 (st->expires));
    else
      json_object_object_add (obj, "expires", NULL);
  }
  if (counters && s->first_seen_ms > 0)
    err |= json_add (obj, "first_request",
                json_object_new_int64 (s->first_seen_ms / 1000));
  if (counters && s->last_activity_ms > 0)
    err |= json_add (obj, "last_activity",
                json_object_new_int64 (s->last_activity_ms / 1000));
  if (err)
    goto nomem;
  ret = obj;
  obj = NULL;
  return ret;

 nomem:
  error_set (ENOMEM, "transfer_status_to_json");
  return NULL;
}
