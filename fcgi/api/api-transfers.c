/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v2/transfers: the spool seen and managed over HTTP.  Status comes
 * from src/transfer-status.c and changes from src/spool-admin.c, the
 * same code imagexferctl uses. */
#include <config.h>

#include "api-internal.h"
#include "api-response.h"
#include "cleanup.h"
#include "error.h"
#include "http-status.h"
#include "spool-admin.h"
#include "stats.h"
#include "transfer-status.h"

static int
add_to_list (const struct transfer_status *st, void *list)
{
  json_object_array_add (list, transfer_status_to_json (st, false));
  return 0;
}

void
api_transfers_list (struct request *req, const struct config *cfg)
{
  json_object *list, *obj = api_list_object (req, "transfers", &list);

  if (obj == NULL)
    return;
  if (transfer_status_foreach (cfg->spool_dir, stats_now_ms (), add_to_list,
                               list) == -1) {
    json_object_put (obj);
    api_error (req, 500, "%s", error_message ());
    return;
  }
  api_json (req, 200, obj);
}

static void
send_status (struct request *req, const struct config *cfg, const char *id,
             int status)
{
  struct transfer_status st;

  if (api_transfer_status (req, cfg->spool_dir, id, &st) == -1)
    return;
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

  body = api_read_body (req, TRANSFER_DESCRIPTOR_MAX, &len);
  if (body == NULL)
    return;
  if (spool_install (cfg->spool_dir, id, body, len, true, cfg->file_mode,
                     &replaced) == -1) {
    api_error_recorded (req, HTTP_FAILURE_SPOOL);
    return;
  }
  send_status (req, cfg, id, replaced ? 200 : 201);
}

void
api_transfer_delete (struct request *req, const struct config *cfg,
                     const char *id)
{
  if (spool_cancel (cfg->spool_dir, id) == -1) {
    api_error_recorded (req, HTTP_FAILURE_SPOOL_DELETE);
    return;
  }
  response_begin (req, 204, NULL, false, 0);
}
