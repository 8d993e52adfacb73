/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl add / check: write or validate a descriptor with the
 * workers' own parser. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl.h"
#include "error.h"
#include "spool-admin.h"
#include "transfer.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

static int run_add (const struct config *cfg, int argc, char **argv);
static int run_check (const struct config *cfg, int argc, char **argv);

const struct ctl_command ctl_add = {
  .name = "add",
  .synopsis = "ID (--path P | --url U | --socket S [--export E]) "
              "[OPTIONS] | ID --file DESCRIPTOR.json",
  .help =
  "Install a transfer in the spool: the descriptor is validated with the\n"
  "server's parser and written atomically (temporary file, fsync,\n"
  "rename).  Fails if ID exists, unless --replace.\n"
  "\n"
  "  --path P            raw image file or block device (file backend)\n"
  "  --offset N          file backend: the transfer starts N bytes in\n"
  "  --url U             file:///..., nbd+unix:///EXPORT?socket=...,\n"
  "                      nbd://HOST[:PORT]/EXPORT, http(s)://...\n"
  "  --socket S          NBD server's unix socket\n"
  "  --export E          NBD export name\n"
  "  --bitmap B          NBD dirty bitmap for context=dirty\n"
  "  --size N            transfer size in bytes\n"
  "  --read-only         allow only reading\n"
  "  --expires T         Unix seconds or RFC 3339 (2026-11-21T10:00:00Z)\n"
  "  --timeout N         close N s after the last request (ImageIO)\n"
  "  --idle-timeout N    close after N s idle (CloudStack)\n"
  "  --filename NAME     Content-Disposition name for downloads\n"
  "  --no-sparse         zeroing must not deallocate\n"
  "  --file F            take the whole descriptor from F ('-': stdin)\n"
  "  --replace           replace an existing transfer\n"
  "  --json              print the installed descriptor, normalized\n",
  .run = run_add,
};

const struct ctl_command ctl_check = {
  .name = "check",
  .synopsis = "FILE [--id ID]",
  .help =
  "Validate a descriptor without installing it.  Prints \"valid\" and the\n"
  "normalized descriptor, or the reason it is invalid (exit status 1).\n"
  "The id defaults to the file name without .json.  Fields the server\n"
  "ignores (unknown to it) are listed on stderr; one a typo away from a\n"
  "known field makes the descriptor invalid (\"did you mean ...\").\n",
  .run = run_check,
};

/* The descriptor in file ('-': stdin), at most TRANSFER_DESCRIPTOR_MAX
 * bytes.  Any readable file will do, a pipe too (--file <(...)): this
 * is the operator's own input, not the spool. */
static char *
read_input (const char *file, size_t *len)
{
  FILE *fp = strcmp (file, "-") == 0 ? stdin : fopen (file, "re");
  char *buf;
  size_t n;

  if (fp == NULL) {
    error_set (errno, "%s: %s", file, strerror (errno));
    return NULL;
  }
  buf = malloc (TRANSFER_DESCRIPTOR_MAX + 1);
  if (buf == NULL) {
    error_set (ENOMEM, "out of memory");
    goto out;
  }
  n = fread (buf, 1, TRANSFER_DESCRIPTOR_MAX + 1, fp);
  if (ferror (fp) || n > TRANSFER_DESCRIPTOR_MAX) {
    if (ferror (fp))
      error_set (EIO, "%s: read error", file);
    else
      error_set (EINVAL, "%s: descriptor larger than %d bytes", file,
                 TRANSFER_DESCRIPTOR_MAX);
    free (buf);
    buf = NULL;
    goto out;
  }
  buf[n] = '\0';
  *len = n;
 out:
  if (fp != stdin)
    fclose (fp);
  return buf;
}

/* Numbers are checked here only for syntax; ranges are the parser's. */
static int
add_number (json_object *obj, const char *key, const char *text)
{
  char *end;
  long long v;

  errno = 0;
  v = strtoll (text, &end, 10);
  if (errno || end == text || *end || v < 0) {
    fprintf (stderr, "imagexferctl add: --%s: not a number >= 0: %s\n", key,
             text);
    return -1;
  }
  json_object_object_add (obj, key, json_object_new_int64 (v));
  return 0;
}

static int
print_normalized (const char *id, const char *text, size_t len)
{
  struct transfer t;
  CLEANUP_JSON_PUT json_object *obj = NULL;

  if (transfer_parse (id, text, len, &t) == -1)
    return -1;
  obj = transfer_to_json (&t);
  transfer_free (&t);
  if (obj == NULL)
    return -1;
  printf ("%s\n", json_object_to_json_string_ext (obj, JSON_FLAGS));
  return 0;
}

/* The server ignores fields it does not know (a newer writer's, an
 * ImageIO ticket's); the operator checking a file should hear of them,
 * on stderr so that stdout stays the normalized descriptor. */
static void
report_unknown_fields (const char *file, const char *text, size_t len)
{
  CLEANUP_JSON_PUT json_object *obj = NULL;
  json_tokener *tok = json_tokener_new ();

  if (tok == NULL)
    return;
  obj = json_tokener_parse_ex (tok, text, (int) len);
  json_tokener_free (tok);
  if (obj == NULL || !json_object_is_type (obj, json_type_object))
    return;
  json_object_object_foreach (obj, key, value) {
    (void) value;
    if (!transfer_field_known (key))
      fprintf (stderr, "%s: unknown field \"%s\" is ignored\n", file, key);
  }
}

static int
run_add (const struct config *cfg, int argc, char **argv)
{
  enum { O_PATH = 256, O_OFFSET, O_URL, O_SOCKET, O_EXPORT, O_BITMAP, O_SIZE,
         O_READ_ONLY, O_EXPIRES, O_TIMEOUT, O_IDLE, O_FILENAME, O_NO_SPARSE,
         O_FILE, O_REPLACE, O_JSON };
  static const struct option options[] = {
    { "path", required_argument, NULL, O_PATH },
    { "offset", required_argument, NULL, O_OFFSET },
    { "url", required_argument, NULL, O_URL },
    { "socket", required_argument, NULL, O_SOCKET },
    { "export", required_argument, NULL, O_EXPORT },
    { "bitmap", required_argument, NULL, O_BITMAP },
    { "size", required_argument, NULL, O_SIZE },
    { "read-only", no_argument, NULL, O_READ_ONLY },
    { "expires", required_argument, NULL, O_EXPIRES },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "idle-timeout", required_argument, NULL, O_IDLE },
    { "filename", required_argument, NULL, O_FILENAME },
    { "no-sparse", no_argument, NULL, O_NO_SPARSE },
    { "file", required_argument, NULL, O_FILE },
    { "replace", no_argument, NULL, O_REPLACE },
    { "json", no_argument, NULL, O_JSON },
    { NULL, 0, NULL, 0 },
  };
  CLEANUP_JSON_PUT json_object *obj = json_object_new_object ();
  CLEANUP_FREE char *text = NULL;
  const char *file = NULL, *id;
  bool replace = false, json = false, any_field = false;
  char path[4096];
  size_t len;
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    const char *key = NULL;

    if (opt != O_FILE && opt != O_REPLACE && opt != O_JSON && opt != '?')
      any_field = true;
    switch (opt) {
    case O_PATH: key = "path"; break;
    case O_URL: key = "url"; break;
    case O_SOCKET: key = "socket"; break;
    case O_EXPORT: key = "export"; break;
    case O_BITMAP: key = "export_bitmap"; break;
    case O_FILENAME: key = "filename"; break;
    case O_OFFSET:
      if (add_number (obj, "offset", optarg) == -1) return 2;
      break;
    case O_SIZE:
      if (add_number (obj, "size", optarg) == -1) return 2;
      break;
    case O_TIMEOUT:
      if (add_number (obj, "timeout", optarg) == -1) return 2;
      break;
    case O_IDLE:
      if (add_number (obj, "inactivity_timeout", optarg) == -1) return 2;
      break;
    case O_EXPIRES:
      if (strspn (optarg, "0123456789") == strlen (optarg)) {
        if (add_number (obj, "expires", optarg) == -1) return 2;
      }
      else
        key = "expires";
      break;
    case O_READ_ONLY:
      json_object_object_add (obj, "read_only", json_object_new_boolean (1));
      break;
    case O_NO_SPARSE:
      json_object_object_add (obj, "sparse", json_object_new_boolean (0));
      break;
    case O_FILE: file = optarg; break;
    case O_REPLACE: replace = true; break;
    case O_JSON: json = true; break;
    default:
      return ctl_usage_error (&ctl_add, "bad option");
    }
    if (key)
      json_object_object_add (obj, key, json_object_new_string (optarg));
  }
  if (optind + 1 != argc)
    return ctl_usage_error (&ctl_add, "expected one ID");
  id = argv[optind];
  if (!transfer_id_valid (id))
    return ctl_usage_error (&ctl_add, "invalid id '%s': 1-128 characters of "
                            "[A-Za-z0-9._-], not starting with '.'", id);
  if (file && any_field)
    return ctl_usage_error (&ctl_add, "--file excludes the other fields");
  if (!file && !any_field)
    return ctl_usage_error (&ctl_add, "give a location (--path, --url, "
                            "--socket) or --file");

  if (file) {
    text = read_input (file, &len);
    if (text == NULL) {
      fprintf (stderr, "imagexferctl add: %s\n", error_message ());
      return 1;
    }
  }
  else {
    const char *s = json_object_to_json_string_ext (obj, JSON_FLAGS);
    text = strdup (s);
    len = strlen (s);
  }

  snprintf (path, sizeof path, "%s/%s.json", cfg->spool_dir, id);
  if (!replace && access (path, F_OK) == 0) {
    fprintf (stderr, "imagexferctl add: transfer %s exists (use "
             "--replace)\n", id);
    return 1;
  }
  {
    bool replaced;

    if (spool_install (cfg->spool_dir, id, text, len, false, cfg->file_mode,
                       &replaced) == -1) {
      fprintf (stderr, "imagexferctl add: %s: %s\n", id, error_message ());
      return 1;
    }
    if (json)
      print_normalized (id, text, len);
    else
      printf ("%s %s\n", replaced ? "replaced" : "added", id);
  }
  return 0;
}

static int
run_check (const struct config *cfg, int argc, char **argv)
{
  static const struct option options[] = {
    { "id", required_argument, NULL, 'i' },
    { NULL, 0, NULL, 0 },
  };
  CLEANUP_FREE char *text = NULL;
  CLEANUP_FREE char *id_buf = NULL;
  const char *id = NULL, *file, *base;
  size_t len;
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    if (opt != 'i')
      return ctl_usage_error (&ctl_check, "bad option");
    id = optarg;
  }
  if (optind + 1 != argc)
    return ctl_usage_error (&ctl_check, "expected one FILE");
  file = argv[optind];
  if (id == NULL) {
    base = strrchr (file, '/');
    base = base ? base + 1 : file;
    id_buf = strdup (base);
    if (id_buf && strlen (id_buf) > 5
        && strcmp (id_buf + strlen (id_buf) - 5, ".json") == 0)
      id_buf[strlen (id_buf) - 5] = '\0';
    /* Any valid id will do for checking the contents. */
    id = id_buf && transfer_id_valid (id_buf) ? id_buf : "check";
  }
  if (!transfer_id_valid (id))
    return ctl_usage_error (&ctl_check, "invalid id '%s'", id);
  text = read_input (file, &len);
  if (text == NULL) {
    printf ("invalid: %s\n", error_message ());
    return 1;
  }
  {
    struct transfer t;

    if (transfer_parse (id, text, len, &t) == -1) {
      printf ("invalid: %s\n", error_message ());
      return 1;
    }
    transfer_free (&t);
  }
  printf ("valid\n");
  print_normalized (id, text, len);
  report_unknown_fields (file, text, len);
  return 0;
}
