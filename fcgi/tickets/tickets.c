/* SPDX-License-Identifier: Apache-2.0 */
/* /tickets: routing, adding a ticket (PUT) and showing one (GET).
 * Extending is in tickets-extend.c, removing in tickets-cancel.c.
 *
 * Answers are shaped as ImageIO's: PUT and PATCH answer 200 with no
 * body, DELETE 204; errors carry the management API's JSON form, whose
 * message vdsm shows (it reads only the status).
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "api-response.h"
#include "cleanup.h"
#include "error.h"
#include "http-status.h"
#include "spool-admin.h"
#include "tickets-internal.h"
#include "tickets.h"
#include "transfer-status.h"
#include "transfer.h"

json_object *
tickets_read_object (const char *spool_dir, const char *id, struct stat *sb)
{
  CLEANUP_FREE char *text = NULL;
  CLEANUP_FREE char *copy = NULL;
  json_object *obj;
  size_t len;

  if (transfer_read_descriptor (spool_dir, id, &text, &len, sb) == -1)
    return NULL;
  copy = strndup (text, len);
  if (copy == NULL) {
    error_set (ENOMEM, "out of memory");
    return NULL;
  }
  obj = json_tokener_parse (copy);
  if (!json_object_is_type (obj, json_type_object)) {
    json_object_put (obj);
    error_set (EINVAL, "the descriptor of %s is not a JSON object", id);
    return NULL;
  }
  return obj;
}

static void
ticket_put (struct request *req, const struct config *cfg, const char *id)
{
  CLEANUP_FREE char *body = NULL;
  CLEANUP_JSON_PUT json_object *ticket = NULL;
  json_object *uuid;
  bool replaced;
  size_t len;

  body = api_read_body (req, TICKETS_BODY_MAX, &len);
  if (body == NULL)
    return;
  ticket = json_tokener_parse (body);
  if (!json_object_is_type (ticket, json_type_object)) {
    api_error (req, 400, "Invalid ticket: not a JSON object");
    return;
  }
  /* ImageIO files a ticket under its uuid; one naming another ticket
   * than the path is a caller's mistake, not something to guess at. */
  if (json_object_object_get_ex (ticket, "uuid", &uuid)
      && (!json_object_is_type (uuid, json_type_string)
          || strcmp (json_object_get_string (uuid), id) != 0)) {
    api_error (req, 400, "Invalid ticket: uuid is not the ticket id %s", id);
    return;
  }
  /* Held to image_roots like every descriptor written over the admin
   * socket (confined). */
  if (spool_install (cfg->spool_dir, id, body, len, true, cfg->file_mode,
                     &replaced) == -1) {
    if (error_errno () == EINVAL)
      api_error (req, 400, "Invalid ticket: %s", error_message ());
    else
      api_error_recorded (req, HTTP_FAILURE_SPOOL);
    return;
  }
  response_begin (req, 200, NULL, true, 0);
}

/* The ticket's own fields with the status of /api/v2/transfers/<id>
 * laid over them (active, connections, expires, idle_time,
 * transferred, ...), plus ImageIO's "canceled". */
static json_object *
ticket_with_status (const struct config *cfg, const char *id,
                    const struct transfer_status *st)
{
  struct stat sb;
  json_object *ticket = tickets_read_object (cfg->spool_dir, id, &sb);
  CLEANUP_JSON_PUT json_object *status = transfer_status_to_json (st, false);

  if (status == NULL)
    return NULL;
  /* Removed or rewritten badly since the status was read: the status
   * alone still says what there is to say. */
  if (ticket == NULL && (ticket = json_object_new_object ()) == NULL)
    return NULL;
  if (!json_object_object_get_ex (ticket, "uuid", NULL))
    json_object_object_add (ticket, "uuid", json_object_new_string (id));
  json_object_object_foreach (status, key, value)
    json_object_object_add (ticket, key, json_object_get (value));
  /* A removed ticket is gone (404); one still here is not cancelled. */
  json_object_object_add (ticket, "canceled",
                          json_object_new_boolean (false));
  return ticket;
}

static void
ticket_get (struct request *req, const struct config *cfg, const char *id)
{
  struct transfer_status st;

  if (api_transfer_status (req, cfg->spool_dir, id, &st) == -1)
    return;
  if (st.state == TRANSFER_STATE_ABSENT
      || st.state == TRANSFER_STATE_CANCELLED)
    api_error (req, 404, "no such ticket: %s", id);
  else
    api_json (req, 200, ticket_with_status (cfg, id, &st));
  transfer_status_free (&st);
}

static void
method_not_allowed (struct request *req, const char *allow)
{
  response_header (req, "Allow", "%s", allow);
  api_error (req, 405, "method %s not allowed on %s", req->method, req->path);
}

void
tickets_handle (struct request *req, const struct config *cfg)
{
  const char *method = req->method;
  const char *id;

  /* "DELETE /tickets/" removes every ticket (vdsm on start-up). */
  if (strcmp (req->path, "/tickets") == 0
      || strcmp (req->path, "/tickets/") == 0) {
    if (strcmp (method, "DELETE") == 0)
      tickets_cancel_all (req, cfg);
    else
      method_not_allowed (req, "DELETE");
    return;
  }
  id = req->path + strlen ("/tickets/");
  if (strchr (id, '/') != NULL) {
    api_error (req, 404, "no such resource: %s", req->path);
    return;
  }
  if (!transfer_id_valid (id)) {
    api_error (req, 400, "invalid ticket id");
    return;
  }
  if (strcmp (method, "PUT") == 0)
    ticket_put (req, cfg, id);
  else if (strcmp (method, "GET") == 0)
    ticket_get (req, cfg, id);
  else if (strcmp (method, "PATCH") == 0)
    tickets_extend (req, cfg, id);
  else if (strcmp (method, "DELETE") == 0)
    tickets_cancel (req, cfg, id);
  else
    method_not_allowed (req, "GET, PUT, PATCH, DELETE");
}
