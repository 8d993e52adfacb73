/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl extend: move a transfer's expiry without re-adding it.
 * Only "expires" changes: the descriptor's other fields are kept as its
 * writer gave them (same names, same values, whatever the dialect),
 * and the result is installed like any descriptor (validated, atomic
 * rename). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "ctl.h"
#include "error.h"
#include "spool-admin.h"
#include "transfer.h"

/* The descriptor of id as a JSON object, or NULL after a message. */
static json_object *
read_object (const char *spool_dir, const char *id, struct stat *st)
{
  CLEANUP_FREE char *text = NULL;
  json_tokener *tok;
  json_object *obj;
  size_t len;

  if (transfer_read_descriptor (spool_dir, id, &text, &len, st) == -1) {
    if (error_errno () == ENOENT)
      fprintf (stderr, "imagexferctl extend: no such transfer: %s\n", id);
    else
      fprintf (stderr, "imagexferctl extend: %s: %s\n", id, error_message ());
    return NULL;
  }
  tok = json_tokener_new ();
  if (tok == NULL)
    return NULL;
  obj = json_tokener_parse_ex (tok, text, (int) len);
  if (obj == NULL && json_tokener_get_error (tok) == json_tokener_continue)
    obj = json_tokener_parse_ex (tok, "", 1);
  json_tokener_free (tok);
  if (obj == NULL || !json_object_is_type (obj, json_type_object)) {
    fprintf (stderr, "imagexferctl extend: %s: the descriptor is not a JSON "
             "object; fix or re-add it\n", id);
    json_object_put (obj);
    return NULL;
  }
  return obj;
}

/* obj with "expires" set to value, in place of the old one so the
 * fields keep their order. */
static json_object *
with_expires (json_object *obj, json_object *value)
{
  json_object *out = json_object_new_object ();
  bool done = false;

  if (out == NULL)
    return NULL;
  json_object_object_foreach (obj, key, v) {
    if (strcmp (key, "expires") == 0) {
      json_object_object_add (out, key, json_object_get (value));
      done = true;
    }
    else
      json_object_object_add (out, key, json_object_get (v));
  }
  if (!done)
    json_object_object_add (out, "expires", json_object_get (value));
  return out;
}

static int
run_extend (const struct config *cfg, int argc, char **argv)
{
  static const struct option options[] = {
    { "timeout", required_argument, NULL, 't' },
    { "expires", required_argument, NULL, 'e' },
    { NULL, 0, NULL, 0 },
  };
  CLEANUP_JSON_PUT json_object *obj = NULL;
  CLEANUP_JSON_PUT json_object *out = NULL;
  CLEANUP_JSON_PUT json_object *value = NULL;
  int64_t expires = -1;
  const char *id, *text;
  char stamp[32];
  struct tm tm;
  time_t when;
  struct stat read_from;
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    char *end;
    long long n;

    if (value != NULL)
      return ctl_usage_error (&ctl_extend, "give one of --timeout and "
                              "--expires");
    switch (opt) {
    case 't':
      errno = 0;
      n = strtoll (optarg, &end, 10);
      if (errno || *end || end == optarg || n < 0 || n > 100LL * 365 * 86400)
        return ctl_usage_error (&ctl_extend, "--timeout: seconds >= 0");
      expires = (int64_t) time (NULL) + n;
      value = json_object_new_int64 (expires);
      break;
    case 'e':
      if (optarg[0] && strspn (optarg, "0123456789") == strlen (optarg)) {
        n = strtoll (optarg, &end, 10);
        expires = n;
        value = json_object_new_int64 (n);
      }
      else if (transfer_parse_rfc3339 (optarg, &expires) == 0)
        value = json_object_new_string (optarg);
      else
        return ctl_usage_error (&ctl_extend, "--expires: Unix seconds or "
                                "RFC 3339 (2026-11-21T10:00:00Z)");
      break;
    default:
      return ctl_usage_error (&ctl_extend, "bad option");
    }
  }
  if (optind + 1 != argc)
    return ctl_usage_error (&ctl_extend, "expected one ID");
  if (value == NULL)
    return ctl_usage_error (&ctl_extend, "give --timeout or --expires");
  id = argv[optind];
  if (!transfer_id_valid (id))
    return ctl_usage_error (&ctl_extend, "invalid id '%s'", id);

  obj = read_object (cfg->spool_dir, id, &read_from);
  if (obj == NULL)
    return 1;
  out = with_expires (obj, value);
  text = out ? json_object_to_json_string_ext
    (out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
  if (text == NULL) {
    fprintf (stderr, "imagexferctl extend: out of memory\n");
    return 1;
  }
  if (spool_update (cfg->spool_dir, id, text, strlen (text), false,
                    cfg->file_mode, &read_from) == -1) {
    fprintf (stderr, "imagexferctl extend: %s: %s\n", id, error_message ());
    return 1;
  }
  when = (time_t) expires;
  gmtime_r (&when, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf ("extended %s: expires %s\n", id, stamp);
  return 0;
}

const struct ctl_command ctl_extend = {
  .name = "extend",
  .synopsis = "ID (--timeout SECONDS | --expires T)",
  .help =
  "Set when a transfer expires: SECONDS from now, or at T (Unix seconds or\n"
  "RFC 3339, 2026-11-21T10:00:00Z).  Only the descriptor's \"expires\"\n"
  "changes; it is rewritten atomically and keeps its other fields.  A\n"
  "sliding or idle timeout the descriptor has still applies, counted anew\n"
  "from now.  Exit status 1 if there is no such transfer.\n",
  .run = run_extend,
};
