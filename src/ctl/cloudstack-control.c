/* SPDX-License-Identifier: Apache-2.0 */
/* CloudStack's control requests mapped onto the spool; see
 * cloudstack-control.h. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cloudstack-control.h"
#include "error.h"
#include "log.h"
#include "spool-admin.h"
#include "stats.h"
#include "transfer-status.h"
#include "transfer.h"

/* The backend of a config without one: CloudStack's image server's
 * default, part of its protocol (our own parser would pick by the
 * fields given, file without a socket). */
#define CLOUDSTACK_DEFAULT_BACKEND "nbd"

static char *
answer_json (json_object *obj)
{
  const char *s = json_object_to_json_string_ext
    (obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

  return s ? strdup (s) : NULL;
}

char *
cloudstack_error (const char *message)
{
  CLEANUP_JSON_PUT json_object *obj = json_object_new_object ();

  if (obj == NULL)
    return NULL;
  json_object_object_add (obj, "status", json_object_new_string ("error"));
  json_object_object_add (obj, "message", json_object_new_string (message));
  return answer_json (obj);
}

__attribute__ ((format (printf, 1, 2))) static char *
error_answer (const char *fmt, ...)
{
  char message[1024];
  va_list args;

  va_start (args, fmt);
  vsnprintf (message, sizeof message, fmt, args);
  va_end (args);
  return cloudstack_error (message);
}

/* {"status": "ok", "active_transfers": N}: the transfers in the spool
 * that still accept requests. */
static char *
ok_answer (const struct config *cfg)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  uint64_t counts[TRANSFER_STATE_COUNT];

  if (transfer_status_count (cfg->spool_dir, stats_now_ms (), counts) == -1)
    return error_answer ("cannot read the spool: %s", error_message ());
  obj = json_object_new_object ();
  if (obj == NULL)
    return NULL;
  json_object_object_add (obj, "status", json_object_new_string ("ok"));
  json_object_object_add (obj, "active_transfers",
                          json_object_new_uint64
                          (transfer_status_open (counts)));
  return answer_json (obj);
}

/* The transfer_id of a request, checked: NULL after setting *answer. */
static const char *
request_id (json_object *request, char **answer)
{
  json_object *v;
  const char *id;

  if (!json_object_object_get_ex (request, "transfer_id", &v) || v == NULL) {
    *answer = error_answer ("missing transfer_id");
    return NULL;
  }
  if (!json_object_is_type (v, json_type_string)) {
    *answer = error_answer ("transfer_id: expected a string");
    return NULL;
  }
  id = json_object_get_string (v);
  if (!transfer_id_valid (id)) {
    *answer = error_answer ("invalid transfer_id \"%.*s\": 1-%d characters "
                            "of [A-Za-z0-9._-], not starting with '.'",
                            TRANSFER_ID_MAX, id, TRANSFER_ID_MAX);
    return NULL;
  }
  return id;
}

static char *
do_register (const struct config *cfg, json_object *request)
{
  json_object *config;
  const char *id, *text;
  char *answer = NULL;
  bool replaced, defaulted = false;

  if ((id = request_id (request, &answer)) == NULL)
    return answer;
  if (!json_object_object_get_ex (request, "config", &config)
      || config == NULL)
    return error_answer ("missing config");
  if (!json_object_is_type (config, json_type_object))
    return error_answer ("config: expected an object");
  if (!json_object_object_get_ex (config, "backend", NULL)) {
    json_object_object_add (config, "backend",
                            json_object_new_string
                            (CLOUDSTACK_DEFAULT_BACKEND));
    defaulted = true;
  }
  text = json_object_to_json_string_ext (config, JSON_C_TO_STRING_PRETTY
                                         | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (text == NULL)
    return NULL;
  if (spool_install (cfg->spool_dir, id, text, strlen (text), false,
                     cfg->file_mode, &replaced) == -1) {
    log_warning ("cloudstack: register %s: %s", id, error_message ());
    if (error_errno () == EINVAL)
      return error_answer ("invalid config: %s%s", error_message (),
                           defaulted ? " (without \"backend\" the backend "
                           "is " CLOUDSTACK_DEFAULT_BACKEND ")" : "");
    return error_answer ("cannot register %s: %s", id, error_message ());
  }
  log_info ("cloudstack: registered %s%s", id, replaced ? " (replaced)" : "");
  return ok_answer (cfg);
}

static char *
do_unregister (const struct config *cfg, json_object *request)
{
  char *answer = NULL;
  const char *id;

  if ((id = request_id (request, &answer)) == NULL)
    return answer;
  /* Unregistering what is not there is no error (API.md section 4). */
  if (spool_cancel (cfg->spool_dir, id) == -1) {
    if (error_errno () != ENOENT) {
      log_warning ("cloudstack: unregister %s: %s", id, error_message ());
      return error_answer ("cannot unregister %s: %s", id, error_message ());
    }
  }
  else
    log_info ("cloudstack: unregistered %s", id);
  return ok_answer (cfg);
}

char *
cloudstack_answer (const struct config *cfg, const char *request, size_t len)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  json_tokener *tok = json_tokener_new ();
  enum json_tokener_error jerr;
  json_object *action = NULL;
  const char *name;

  if (tok == NULL)
    return NULL;
  obj = json_tokener_parse_ex (tok, request, (int) len);
  jerr = json_tokener_get_error (tok);
  /* A bare number may go on; the end of the line says it does not. */
  if (obj == NULL && jerr == json_tokener_continue) {
    obj = json_tokener_parse_ex (tok, "", 1);
    jerr = json_tokener_get_error (tok);
    len = 0;
  }
  /* Whatever follows the object on the line is an error too. */
  if (obj != NULL && jerr == json_tokener_success) {
    for (size_t i = json_tokener_get_parse_end (tok); i < len; i++)
      if (strchr (" \t\r", request[i]) == NULL || request[i] == '\0') {
        jerr = json_tokener_error_parse_unexpected;
        break;
      }
  }
  json_tokener_free (tok);
  if (obj == NULL || jerr != json_tokener_success)
    return error_answer ("malformed JSON: %s",
                         obj == NULL && jerr == json_tokener_continue
                         ? "unexpected end of input"
                         : json_tokener_error_desc (jerr));
  if (!json_object_is_type (obj, json_type_object))
    return error_answer ("malformed request: expected a JSON object");
  if (!json_object_object_get_ex (obj, "action", &action)
      || !json_object_is_type (action, json_type_string))
    return error_answer ("unknown action: %s",
                         action ? json_object_to_json_string (action)
                         : "(none)");
  name = json_object_get_string (action);
  if (strcmp (name, "register") == 0)
    return do_register (cfg, obj);
  if (strcmp (name, "unregister") == 0)
    return do_unregister (cfg, obj);
  if (strcmp (name, "status") == 0)
    return ok_answer (cfg);
  return error_answer ("unknown action: %.200s", name);
}
