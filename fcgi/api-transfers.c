/* /api/v2/transfers: the spool seen and managed over HTTP.  Status comes
 * from src/transfer-status.c and changes from src/spool-admin.c, the
 * same code imagexferctl uses. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "cleanup.h"
#include "error.h"
#include "spool-admin.h"
#include "stats.h"
#include "transfer-status.h"

/* As transfer.c: a descriptor is a few hundred bytes. */
#define DESCRIPTOR_MAX_SIZE (1024 * 1024)

struct cancelled_ctx {
  const char *spool_dir;
  char **ids;                  /* in the spool: skip these */
  json_object *list;
};

static bool
in_list (char **ids, const char *id)
{
  for (size_t i = 0; ids[i]; i++)
    if (strcmp (ids[i], id) == 0)
      return true;
  return false;
}

/* Transfers cancelled recently are gone from the spool; the shared
 * table still remembers them (until their entry is reused). */
static int
add_cancelled (const struct stats_transfer_info *info, void *opaque)
{
  struct cancelled_ctx *ctx = opaque;
  struct transfer_status st;

  if (!info->cancelled || in_list (ctx->ids, info->id))
    return 0;
  if (transfer_status_get (ctx->spool_dir, info->id, stats_now_ms (), &st) == 0
      && st.state == TRANSFER_STATE_CANCELLED)
    json_object_array_add (ctx->list, transfer_status_to_json (&st, false));
  transfer_status_free (&st);
  return 0;
}

void
api_transfers_list (struct request *req, const struct config *cfg)
{
  char **ids = spool_list (cfg->spool_dir);
  json_object *obj, *list;
  int64_t now = stats_now_ms ();

  if (ids == NULL) {
    api_error (req, 500, "%s", error_message ());
    return;
  }
  obj = json_object_new_object ();
  list = json_object_new_array ();
  if (obj == NULL || list == NULL) {
    json_object_put (obj);
    json_object_put (list);
    spool_list_free (ids);
    api_error (req, 500, "out of memory");
    return;
  }
  for (size_t i = 0; ids[i]; i++) {
    struct transfer_status st;

    /* A file removed while we list is simply not listed. */
    if (transfer_status_get (cfg->spool_dir, ids[i], now, &st) == 0
        && st.state != TRANSFER_STATE_ABSENT)
      json_object_array_add (list, transfer_status_to_json (&st, false));
    transfer_status_free (&st);
  }
  {
    struct cancelled_ctx ctx = { cfg->spool_dir, ids, list };

    stats_transfer_foreach (add_cancelled, &ctx);
  }
  spool_list_free (ids);
  json_object_object_add (obj, "transfers", list);
  api_json (req, 200, obj);
}

static void
send_status (struct request *req, const struct config *cfg, const char *id,
             int status)
{
  struct transfer_status st;

  if (transfer_status_get (cfg->spool_dir, id, stats_now_ms (), &st) == -1) {
    api_error (req, errno == EINVAL ? 400 : 500, "%s", error_message ());
    return;
  }
  if (st.state == TRANSFER_STATE_ABSENT)
    api_error (req, 404, "no such transfer: %s", id);
  else
    api_json (req, status, transfer_status_to_json (&st, true));
  transfer_status_free (&st);
}

void
api_transfer_get (struct request *req, const struct config *cfg,
                  const char *id)
{
  send_status (req, cfg, id, 200);
}

void
api_transfer_put (struct request *req, const struct config *cfg,
                  const char *id)
{
  CLEANUP_FREE char *body = NULL;
  bool replaced;
  size_t len;

  if (!req->has_content_length) {
    api_error (req, 411, "Content-Length is required");
    return;
  }
  if (req->content_length > DESCRIPTOR_MAX_SIZE) {
    api_error (req, 413, "descriptor larger than %d bytes",
               DESCRIPTOR_MAX_SIZE);
    return;
  }
  len = (size_t) req->content_length;
  body = malloc (len + 1);
  if (body == NULL) {
    api_error (req, 500, "out of memory");
    return;
  }
  if (request_read_body_full (req, body, len) == -1) {
    api_error (req, 400, "%s", error_message ());
    return;
  }
  body[len] = '\0';
  if (spool_install (cfg->spool_dir, id, body, len, &replaced) == -1) {
    if (errno == EINVAL)
      api_error (req, 400, "%s", error_message ());
    else
      api_error (req, 500, "%s", error_message ());
    return;
  }
  send_status (req, cfg, id, replaced ? 200 : 201);
}

void
api_transfer_delete (struct request *req, const struct config *cfg,
                     const char *id)
{
  if (spool_cancel (cfg->spool_dir, id) == -1) {
    int err = errno;

    api_error (req, err == ENOENT ? 404 : err == EINVAL ? 400 : 500, "%s",
               error_message ());
    return;
  }
  response_begin (req, 204, NULL, false, 0);
}
