/* SPDX-License-Identifier: Apache-2.0 */
/* PATCH /tickets/<id> {"timeout": N}: the ticket expires N seconds from
 * now (vdsm extends running transfers this way).
 *
 * The descriptor is rewritten through spool_update (validated, a
 * temporary file exchanged with the old one), with "timeout" set to N: a
 * sliding timeout counts from the later of the descriptor's writing and
 * the last request, and the writing is now.  An absolute "expires", if
 * the descriptor has one, moves to now + N too.  N = 0 closes the
 * ticket now, as in ImageIO (a "timeout" of 0 would mean "none").
 * Requests in flight carry on: a replaced descriptor is the same
 * transfer.  A DELETE landing between the read and the exchange wins:
 * the exchange finds no descriptor, and the answer is 404.
 */
#include <config.h>

#include <errno.h>
#include <time.h>

#include "api-response.h"
#include "cleanup.h"
#include "error.h"
#include "http-status.h"
#include "spool-admin.h"
#include "tickets-internal.h"

/* The N of {"timeout": N}: a JSON integer >= 0.  -1 after answering 400
 * when the body says something else. */
static int64_t
requested_timeout (struct request *req, const char *body)
{
  CLEANUP_JSON_PUT json_object *patch = json_tokener_parse (body);
  json_object *timeout;
  int64_t n;

  if (!json_object_is_type (patch, json_type_object)) {
    api_error (req, 400, "Invalid patch: not a JSON object");
    return -1;
  }
  if (!json_object_object_get_ex (patch, "timeout", &timeout)) {
    api_error (req, 400, "Invalid patch: missing \"timeout\"");
    return -1;
  }
  n = json_object_get_int64 (timeout);
  if (!json_object_is_type (timeout, json_type_int) || n < 0
      || n > INT32_MAX) {
    api_error (req, 400, "Invalid patch: \"timeout\" must be an integer "
               "from 0 to %d", INT32_MAX);
    return -1;
  }
  return n;
}

void
tickets_extend (struct request *req, const struct config *cfg,
                const char *id)
{
  CLEANUP_FREE char *body = NULL;
  CLEANUP_JSON_PUT json_object *ticket = NULL;
  struct stat read_from;
  int64_t timeout, now = (int64_t) time (NULL);
  const char *text;
  size_t len;

  body = api_read_body (req, TICKETS_BODY_MAX, &len);
  if (body == NULL || (timeout = requested_timeout (req, body)) == -1)
    return;
  ticket = tickets_read_object (cfg->spool_dir, id, &read_from);
  if (ticket == NULL) {
    if (error_errno () == ENOENT)
      api_error (req, 404, "no such ticket: %s", id);
    else
      api_error_recorded (req, HTTP_FAILURE_SPOOL);
    return;
  }
  if (timeout == 0)
    json_object_object_add (ticket, "expires", json_object_new_int64 (now));
  else {
    json_object_object_add (ticket, "timeout",
                            json_object_new_int64 (timeout));
    if (json_object_object_get_ex (ticket, "expires", NULL))
      json_object_object_add (ticket, "expires",
                              json_object_new_int64 (now + timeout));
  }
  text = json_object_to_json_string_length (ticket, JSON_C_TO_STRING_PLAIN,
                                            &len);
  if (text == NULL) {
    api_error (req, 500, "out of memory");
    return;
  }
  if (spool_update (cfg->spool_dir, id, text, len, true,
                    cfg->file_mode, &read_from) == -1) {
    /* Deleted between the read and the write: it stays cancelled. */
    if (error_errno () == ENOENT)
      api_error (req, 404, "no such ticket: %s", id);
    /* Replaced between the read and the write: the newer one stays. */
    else if (error_errno () == EAGAIN)
      api_error (req, 409, "ticket %s: %s", id, error_message ());
    else
      api_error_recorded (req, HTTP_FAILURE_SPOOL);
    return;
  }
  response_begin (req, 200, NULL, true, 0);
}
