/* SPDX-License-Identifier: Apache-2.0 */
/* The responses of the management API: its JSON error form and a few
 * JSON helpers, shared by the router (api.c) and the handlers. */
#ifndef IMAGEXFER_API_RESPONSE_H
#define IMAGEXFER_API_RESPONSE_H

#include <json-c/json.h>

#include "http-status.h"
#include "request.h"
#include "transfer-status.h"

/* A complete {"code": "...", "message": "..."} response (API.md 3).
 * The code follows from the status: 403 FORBIDDEN, 404 NOT_FOUND,
 * 405 UNSUPPORTED, 409 CONFLICT, 5xx INTERNAL, any other 4xx
 * BAD_REQUEST. */
void api_error (struct request *req, int status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* api_error for the error recorded last (error_set): its message, and
 * the status http_status_from_errno gives its errno for failure. */
void api_error_recorded (struct request *req, enum http_failure failure);

/* transfer_status_get for now (release st with transfer_status_free).
 * -1 after answering the error when the status cannot be read. */
int api_transfer_status (struct request *req, const char *spool_dir,
                         const char *id, struct transfer_status *st);

/* A complete JSON response; puts body.  A NULL body (out of memory)
 * becomes a 500. */
void api_json (struct request *req, int status, json_object *body);

/* A new object {"<key>": []} for a list answer; *list is its array (the
 * object owns it).  NULL, after answering 500, when out of memory. */
json_object *api_list_object (struct request *req, const char *key,
                              json_object **list);

/* A JSON number with that many decimals (json-c's default shows
 * 0.005 as 0.0050000000000000001). */
json_object *api_number (double value, int decimals);

/* The whole request body, NUL-terminated (free it), *len bytes; at most
 * max bytes.  NULL, after answering 411, 413, 400 or 500, when it cannot
 * be had. */
char *api_read_body (struct request *req, size_t max, size_t *len);

#endif
