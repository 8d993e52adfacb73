/* SPDX-License-Identifier: Apache-2.0 */
/* The responses of the management API (API.md section 3), shared by the
 * router (api.c) and its handlers. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "api-response.h"
#include "cleanup.h"
#include "error.h"
#include "stats.h"

void
api_json (struct request *req, int status, json_object *body)
{
  if (body == NULL) {
    api_error (req, 500, "out of memory");
    return;
  }
  response_json (req, status, body);
  json_object_put (body);
}

void
api_error (struct request *req, int status, const char *fmt, ...)
{
  CLEANUP_JSON_PUT json_object *body = json_object_new_object ();
  char message[512];
  const char *code;
  va_list args;

  va_start (args, fmt);
  vsnprintf (message, sizeof message, fmt, args);
  va_end (args);
  if (status == 403)
    code = "FORBIDDEN";
  else if (status == 404)
    code = "NOT_FOUND";
  else if (status == 409)
    code = "CONFLICT";
  else if (status == 405)
    code = "UNSUPPORTED";
  else if (status >= 500)
    code = "INTERNAL";
  else
    code = "BAD_REQUEST";
  if (body == NULL
      || json_object_object_add (body, "code", json_object_new_string (code))
      || json_object_object_add (body, "message",
                                 json_object_new_string (message))) {
    response_begin (req, 500, NULL, true, 0);
    return;
  }
  response_json (req, status, body);
}

void
api_error_recorded (struct request *req, enum http_failure failure)
{
  api_error (req, http_status_from_errno (error_errno (), failure), "%s",
             error_message ());
}

int
api_transfer_status (struct request *req, const char *spool_dir,
                     const char *id, struct transfer_status *st)
{
  if (transfer_status_get (spool_dir, id, stats_now_ms (), st) == -1) {
    api_error_recorded (req, HTTP_FAILURE_SPOOL);
    return -1;
  }
  return 0;
}

json_object *
api_list_object (struct request *req, const char *key, json_object **list)
{
  json_object *obj = json_object_new_object ();

  *list = json_object_new_array ();
  if (obj == NULL || *list == NULL
      || json_object_object_add (obj, key, *list) != 0) {
    json_object_put (obj);
    json_object_put (*list);
    api_error (req, 500, "out of memory");
    return NULL;
  }
  return obj;
}

json_object *
api_number (double value, int decimals)
{
  char text[64];
  int n = snprintf (text, sizeof text, "%.*f", decimals, value);

  /* A cut number would be a wrong one: json-c's own form then. */
  if (n < 0 || (size_t) n >= sizeof text)
    return json_object_new_double (value);
  return json_object_new_double_s (value, text);
}

char *
api_read_body (struct request *req, size_t max, size_t *len)
{
  char *body;

  if (!req->has_content_length) {
    api_error (req, 411, "Content-Length is required");
    return NULL;
  }
  if (req->content_length > max) {
    api_error (req, 413, "body larger than %zu bytes", max);
    return NULL;
  }
  *len = (size_t) req->content_length;
  body = malloc (*len + 1);
  if (body == NULL) {
    api_error (req, 500, "out of memory");
    return NULL;
  }
  if (request_read_body_full (req, body, *len) == -1) {
    free (body);
    api_error (req, 400, "%s", error_message ());
    return NULL;
  }
  body[*len] = '\0';
  return body;
}
