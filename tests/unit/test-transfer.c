/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer descriptors: ids, RFC 3339 times, urls, the three JSON
 * dialects, loading from a spool directory and the JSON round trip. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-file.h"
#include "backend-nbd.h"
#include "backend-registry.h"
#include "error.h"
#include "transfer.h"
#include "tap.h"

static const struct {
  const char *id;
  bool valid;
} id_tests[] = {
  { "a", true },
  { "abc-DEF_123.4", true },
  { "7ab3d1a2-4c5e-4b0f-9f6a-2d1c0e8b9a31", true },
  { "a.json", true },
  { "a..b", true },
  { "0", true },
  { "", false },
  { ".", false },
  { "..", false },
  { ".hidden", false },
  { "a/b", false },
  { "../etc/passwd", false },
  { "a b", false },
  { "a\tb", false },
  { "\xc3\xa4", false },           /* "ä" */
  { "a%2fb", false },
  { "a\\b", false },
  { "a:b", false },
  { "a\nb", false },
};

static const struct {
  const char *text;
  bool ok;
  int64_t seconds;
} rfc3339_tests[] = {
  { "1970-01-01T00:00:00Z", true, 0 },
  { "2026-11-21T10:00:00Z", true, INT64_C (1795255200) },
  { "2026-11-21T12:00:00+02:00", true, INT64_C (1795255200) },
  { "2026-11-21T05:30:00-04:30", true, INT64_C (1795255200) },
  { "2026-11-21T10:00:00.123456Z", true, INT64_C (1795255200) },
  { "2026-11-21t10:00:00z", true, INT64_C (1795255200) },
  { "2000-02-29T00:00:00Z", true, INT64_C (951782400) },
  { "2038-01-19T03:14:08Z", true, INT64_C (2147483648) },
  { "2016-12-31T23:59:60Z", true, INT64_C (1483228800) },
  { "tomorrow", false, 0 },
  { "", false, 0 },
  { "2026-13-01T00:00:00Z", false, 0 },
  { "2026-00-01T00:00:00Z", false, 0 },
  { "2026-02-29T00:00:00Z", false, 0 },
  { "2026-04-31T00:00:00Z", false, 0 },
  { "1900-02-29T00:00:00Z", false, 0 },
  { "2026-11-00T00:00:00Z", false, 0 },
  { "2026-11-21T24:00:00Z", false, 0 },
  { "2026-11-21T10:60:00Z", false, 0 },
  { "2026-11-21T10:00:61Z", false, 0 },
  { "2026-11-21T10:00:00", false, 0 },
  { "2026-11-21T10:00:00Zjunk", false, 0 },
  { "2026-11-21T10:00:00Z ", false, 0 },
  { " 2026-11-21T10:00:00Z", false, 0 },
  { "2026-11-21 10:00:00Z", false, 0 },
  { "2026-11-21", false, 0 },
  { "2026-11-21T10:00Z", false, 0 },
  { "2026-11-21T10:00:00.Z", false, 0 },
  { "2026-11-21T10:00:00+0200", false, 0 },
  { "2026-11-21T10:00:00+02", false, 0 },
  { "2026-11-21T10:00:00+24:00", false, 0 },
  { "2026-11-21T10:00:00+02:60", false, 0 },
  { "26-11-21T10:00:00Z", false, 0 },
  { "+2026-11-21T10:00:00Z", false, 0 },
  { "2026-1-21T10:00:00Z", false, 0 },
  { "1795255200", false, 0 },
};

static const struct {
  const char *url;
  bool ok;
  const char *backend;
  const char *path, *socket, *host, *port, *export_name;
} url_tests[] = {
  { "file:///var/tmp/disk.raw", true, "file",
    "/var/tmp/disk.raw", NULL, NULL, NULL, NULL },
  { "file://localhost/dev/sdb", true, "file",
    "/dev/sdb", NULL, NULL, NULL, NULL },
  { "file:///images/a%20b.raw", true, "file",
    "/images/a b.raw", NULL, NULL, NULL, NULL },
  { "nbd+unix:///sda?socket=/run/nbd.sock", true, "nbd",
    NULL, "/run/nbd.sock", NULL, NULL, "sda" },
  { "nbd+unix:///?socket=/run/nbd.sock", true, "nbd",
    NULL, "/run/nbd.sock", NULL, NULL, "" },
  { "nbd+unix://?socket=/run/nbd.sock", true, "nbd",
    NULL, "/run/nbd.sock", NULL, NULL, "" },
  { "nbd+unix:///a%2Fb?socket=/run/x%20y.sock", true, "nbd",
    NULL, "/run/x y.sock", NULL, NULL, "a/b" },
  { "nbd://example.com:10810/disk", true, "nbd",
    NULL, NULL, "example.com", "10810", "disk" },
  { "nbd://example.com", true, "nbd",
    NULL, NULL, "example.com", "10809", "" },
  { "nbd://127.0.0.1/", true, "nbd",
    NULL, NULL, "127.0.0.1", "10809", "" },
  { "nbd://[::1]:10811/e", true, "nbd",
    NULL, NULL, "::1", "10811", "e" },
  { "nbd:unix:/run/vdsm/nbd/x.sock", true, "nbd",
    NULL, "/run/vdsm/nbd/x.sock", NULL, NULL, "" },
  { "nbd:unix:/run/vdsm/nbd/x.sock:exportname=sda", true, "nbd",
    NULL, "/run/vdsm/nbd/x.sock", NULL, NULL, "sda" },
  { "nbd:localhost:10809", true, "nbd",
    NULL, NULL, "localhost", "10809", "" },
  { "nbd:10.0.0.5:10812:exportname=vda", true, "nbd",
    NULL, NULL, "10.0.0.5", "10812", "vda" },
  /* Written back as the "port" field writes it (found by fuzzing). */
  { "nbd://127.0.0.1:01809/disk", true, "nbd",
    NULL, NULL, "127.0.0.1", "1809", "disk" },
  { "nbd://127.0.0.1:000080/", true, "nbd",
    NULL, NULL, "127.0.0.1", "80", "" },
  { "nbd+unix:///%C3%A9t%C3%A9?socket=/s", true, "nbd",
    NULL, "/s", NULL, NULL, "\xc3\xa9t\xc3\xa9" },
  { .url = "" },
  { .url = "ftp://example.com/disk" },
  { .url = "/var/tmp/disk.raw" },
  { .url = "file:relative" },
  { .url = "file://host/var/tmp/disk.raw" },
  { .url = "file:///a?query" },
  { .url = "file:///a%2" },
  { .url = "file:///a%zz" },
  { .url = "file:///a%00b" },
  { .url = "nbd+unix:///sda" },
  { .url = "nbd+unix:///sda?socket=relative.sock" },
  { .url = "nbd+unix:///sda?socket=" },
  { .url = "nbd+unix://host/sda?socket=/s" },
  { .url = "nbd+unix:///sda?socket=/s&tls=require" },
  { .url = "nbd://" },
  { .url = "nbd:///export" },
  { .url = "nbd://host:0/" },
  { .url = "nbd://host:65536/" },
  { .url = "nbd://host:port/" },
  { .url = "nbd://host:/" },
  { .url = "nbd://ho st/" },
  { .url = "nbd://host/e?x=1" },
  { .url = "nbd://[::1/e" },
  { .url = "nbds://host/e" },
  { .url = "nbd:unix:" },
  { .url = "nbd:unix:relative.sock" },
  { .url = "nbd:localhost" },
  { .url = "nbd:localhost:" },
  { .url = "nbd:localhost:x" },
  { .url = "nbd::10809" },
  /* Not UTF-8 once decoded: it could not be written back as JSON. */
  { .url = "nbd://127.0.0.1:100/s8i%d9k" },
  { .url = "file:///images/%ff.raw" },
  /* Hosts: RFC 1123 labels, IPv4 or bracketed IPv6, nothing else. */
  { .url = "nbd://ho_st/e" },
  { .url = "nbd://-host/e" },
  { .url = "nbd://host-.example/e" },
  { .url = "nbd://a..b/e" },
  { .url = "nbd://.a/e" },
  { .url = "nbd://10.0.0.256/e" },
  { .url = "nbd://1.2.3/e" },
  { .url = "nbd://[::g]/e" },
  { .url = "nbd://[10.0.0.1]/e" },
  { .url = "nbd://user@host/e" },
  { .url = "nbd:::1:10809" },
  { .url = "nbd:ho%20st:10809" },
  { .url = "nbd://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/e" },
};

/* Descriptors: NULL error means valid, else a piece of the reason. */
static const struct {
  const char *json;
  const char *error;
} descriptor_tests[] = {
  /* Valid, one per dialect and option. */
  { "{\"path\": \"/a\", \"comment\": \"unknown fields are ignored\", "
    "\"vm\": 42, \"disk_uuid\": \"u\"}", NULL },
  /* Messages as before the schema tables: the canonical name for the
   * alias, leading zeros in a port, every url form in the scheme error. */
  { "{\"file\": \"rel\"}", "path: must be absolute, not \"rel\"" },
  { "{\"host\": \"h\", \"port\": \"000080\"}", NULL },
  { "{\"url\": \"ftp://x\"}", "url: unsupported scheme in \"ftp://x\" "
    "(file://, nbd://, nbd+unix:// or nbd:, http:// or https://)" },
  /* A typo of a known field is refused, not ignored. */
  { "{\"path\": \"/a\", \"read_onyl\": true}",
    "read_onyl: unknown field, did you mean \"read_only\"?" },
  { "{\"path\": \"/a\", \"opss\": [\"read\"]}", "did you mean \"ops\"?" },
  { "{\"path\": \"/a\", \"sprase\": false}", "did you mean \"sparse\"?" },
  { "{\"path\": \"/a\", \"expire\": 5}", "did you mean \"expires\"?" },
  { "{\"socket\": \"/s\", \"exportt\": \"e\"}", "did you mean \"export\"?" },
  { "{\"path\": \"/a\", \"idle_timeout_second\": 5}",
    "did you mean \"idle_timeout_seconds\"?" },
  { "{\"pth\": \"/a\"}", "did you mean \"path\"?" },
  { "{\"path\": \"/a\", \"backnd\": \"file\"}", "did you mean \"backend\"?" },
  { "{\"path\": \"/a\"}", NULL },
  { "{\"path\": \"/a\"}\n\n", NULL },
  { "{\"backend\": \"file\", \"path\": \"/a\", \"offset\": 512}", NULL },
  { "{\"file\": \"/a\", \"read_only\": true, \"idle_timeout_seconds\": 10}",
    NULL },
  { "{\"socket\": \"/s\", \"export\": \"vda\", \"export_bitmap\": \"b\"}",
    NULL },
  { "{\"host\": \"h\", \"port\": 10810}", NULL },
  { "{\"host\": \"h\", \"port\": \"10810\"}", NULL },
  { "{\"url\": \"nbd:unix:/s\", \"ops\": [\"read\"], \"timeout\": 30, "
    "\"dirty\": true, \"uuid\": \"u\", \"transfer_id\": \"t\"}", NULL },
  { "{\"url\": \"file:///a\", \"backend\": \"file\", \"dirty\": false}", NULL },
  { "{\"path\": \"/a\", \"color\": \"red\", \"nested\": {\"x\": [1]}}", NULL },
  { "{\"path\": \"/a\", \"size\": 0}", NULL },
  { "{\"path\": \"/a\", \"size\": 9223372036854775807}", NULL },
  { "{\"path\": \"/a\", \"ops\": [\"write\"], \"read_only\": false}", NULL },
  { "{\"path\": \"/a\", \"ops\": [\"read\"], \"read_only\": true}", NULL },
  { "{\"path\": \"/a\", \"expires\": 0}", NULL },
  { "{\"path\": \"/a\", \"expires\": \"2026-11-21T10:00:00+02:00\"}", NULL },
  { "{\"path\": \"/a\", \"sparse\": false}", NULL },
  /* Not an object, not JSON. */
  { "[]", "must be a JSON object" },
  { "\"x\"", "must be a JSON object" },
  { "42\n", "must be a JSON object" },
  { "null\n", "must be a JSON object" },
  { "", "truncated" },
  { "{\"path\": \"/a\"", "truncated" },
  { "{\"path\": \"/", "truncated" },
  { "{\"path\": \"/a\"} x", "JSON" },
  { "{\"path\": \"/a\"}{}", "JSON" },
  { "{\"path\": \"/a\",}", "JSON" },
  { "{\"path\": \"/\xff\"}", "JSON" },
  /* Location. */
  { "{}", "path: required" },
  { "{\"backend\": \"file\"}", "path: required" },
  { "{\"path\": 5}", "path: must be a string" },
  { "{\"path\": null}", "path: must be a string" },
  { "{\"path\": [\"/a\"]}", "path: must be a string" },
  { "{\"path\": \"a/b\"}", "path: must be absolute" },
  { "{\"path\": \"\"}", "path: must be absolute" },
  { "{\"path\": \"/a\\u0000/../b\"}", "path: must not contain NUL" },
  { "{\"file\": \"/a\", \"path\": \"/a\"}", "give only one" },
  { "{\"file\": true}", "file: must be a string" },
  { "{\"backend\": \"ftp\", \"path\": \"/a\"}", "backend: must be" },
  { "{\"backend\": 1, \"path\": \"/a\"}", "backend: must be a string" },
  { "{\"backend\": \"nbd\", \"path\": \"/a\"}", "path: only valid" },
  { "{\"backend\": \"nbd\"}", "socket: required" },
  { "{\"backend\": \"file\", \"url\": \"nbd:unix:/s\"}", "disagrees" },
  { "{\"backend\": \"nbd\", \"url\": \"file:///a\"}", "disagrees" },
  { "{\"url\": \"file:///a\", \"path\": \"/a\"}", "url: conflicts with path" },
  { "{\"url\": \"nbd:unix:/s\", \"socket\": \"/s\"}", "url: conflicts" },
  { "{\"url\": 1}", "url: must be a string" },
  { "{\"url\": \"ftp://x/a\"}", "url: unsupported scheme" },
  { "{\"url\": \"nbd:unix:relative\"}", "url:" },
  { "{\"socket\": \"relative\"}", "socket: must be absolute" },
  { "{\"socket\": 1}", "socket: must be a string" },
  { "{\"socket\": \"/s\", \"host\": \"h\"}", "give only one" },
  { "{\"socket\": \"/s\", \"port\": \"10809\"}", "port: only valid with host" },
  { "{\"host\": \"\"}", "host: must not be empty" },
  { "{\"host\": \"nbd.example.com\"}", NULL },
  { "{\"host\": \"10.0.0.5\"}", NULL },
  { "{\"host\": \"::1\"}", NULL },
  { "{\"host\": \"fe80::1:2\"}", NULL },
  { "{\"host\": \"h-1.a9\"}", NULL },
  { "{\"host\": \"h.\"}", "host: must be a host name or an IP address; "
    "this one has an empty label" },
  { "{\"host\": \"a b\"}", "a character other than letters, digits" },
  { "{\"host\": \"a\\tb\"}", "a character other than" },
  { "{\"host\": \"a\\nb\"}", "a character other than" },
  { "{\"host\": \"h\\u00e9\"}", "a character other than" },
  { "{\"host\": \"nbd://h\"}", "host: must be a host name" },
  { "{\"host\": \"h/x\"}", "a character other than" },
  { "{\"host\": \"h?x\"}", "a character other than" },
  { "{\"host\": \"u@h\"}", "a character other than" },
  { "{\"host\": \"[::1]\"}", "not a valid IPv6 address" },
  { "{\"host\": \"::g\"}", "not a valid IPv6 address" },
  { "{\"host\": \"-h\"}", "starts or ends with '-'" },
  { "{\"host\": \"h-\"}", "starts or ends with '-'" },
  { "{\"host\": \"under_score\"}", "a character other than" },
  { "{\"host\": \"300.1.1.1\"}", "not a valid IPv4 address" },
  { "{\"host\": \"1.2.3\"}", "not a valid IPv4 address" },
  { "{\"host\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    ".b\"}", "a label longer than 63" },
  { "{\"host\": 5}", "host: must be a string" },
  { "{\"host\": \"h\", \"port\": \"0\"}", "port:" },
  { "{\"host\": \"h\", \"port\": 65536}", "port:" },
  { "{\"host\": \"h\", \"port\": \"10809x\"}", "port:" },
  { "{\"host\": \"h\", \"port\": \"+1\"}", "port:" },
  { "{\"host\": \"h\", \"port\": 1.5}", "port:" },
  { "{\"socket\": \"/s\", \"offset\": 0}", "offset: only valid" },
  { "{\"socket\": \"/s\", \"path\": \"/a\"}", "path: only valid" },
  { "{\"socket\": \"/s\", \"export\": 1}", "export: must be a string" },
  { "{\"socket\": \"/s\", \"export_bitmap\": 1}", "export_bitmap: must be" },
  { "{\"socket\": \"/s\", \"export_bitmap\": \"\"}", "export_bitmap: must not" },
  { "{\"backend\": \"file\", \"path\": \"/a\", \"export\": \"x\"}",
    "export: only valid with the nbd backend" },
  { "{\"url\": \"file:///a\", \"export_bitmap\": \"b\"}",
    "export_bitmap: only valid" },
  /* Numbers. */
  { "{\"path\": \"/a\", \"offset\": -1}", "offset: must not be negative" },
  { "{\"path\": \"/a\", \"offset\": \"0\"}", "offset: must be" },
  { "{\"path\": \"/a\", \"size\": \"10G\"}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": \"1024\"}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": true}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": 1.5}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": 1024.0}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": 1e3}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": -1}", "size: must not be negative" },
  { "{\"path\": \"/a\", \"size\": null}", "size: must be" },
  { "{\"path\": \"/a\", \"size\": 18446744073709551615}", "size: too large" },
  { "{\"path\": \"/a\", \"size\": 18446744073709551616}", "size: too large" },
  { "{\"path\": \"/a\", \"size\": -99999999999999999999}", "size: must not" },
  { "{\"path\": \"/a\", \"timeout\": -1}", "timeout: must not be negative" },
  { "{\"path\": \"/a\", \"timeout\": \"60\"}", "timeout: must be" },
  { "{\"path\": \"/a\", \"timeout\": 1.5}", "timeout: must be" },
  { "{\"path\": \"/a\", \"inactivity_timeout\": -5}", "inactivity_timeout:" },
  { "{\"path\": \"/a\", \"idle_timeout_seconds\": \"x\"}",
    "idle_timeout_seconds: must be" },
  { "{\"path\": \"/a\", \"idle_timeout_seconds\": 1, "
    "\"inactivity_timeout\": 1}", "give only one" },
  /* ops and read_only. */
  { "{\"path\": \"/a\", \"ops\": \"read\"}", "ops: must be an array" },
  { "{\"path\": \"/a\", \"ops\": []}", "ops: must not be empty" },
  { "{\"path\": \"/a\", \"ops\": [\"read\", \"delete\"]}", "ops: unknown" },
  { "{\"path\": \"/a\", \"ops\": [\"READ\"]}", "ops: unknown" },
  { "{\"path\": \"/a\", \"ops\": [1]}", "ops: must be an array" },
  { "{\"path\": \"/a\", \"ops\": [\"read\\u0000\"]}", "ops:" },
  { "{\"path\": \"/a\", \"read_only\": \"yes\"}", "read_only: must be" },
  { "{\"path\": \"/a\", \"read_only\": 1}", "read_only: must be" },
  { "{\"path\": \"/a\", \"read_only\": true, \"ops\": [\"write\"]}",
    "read_only: conflicts" },
  { "{\"path\": \"/a\", \"read_only\": true, \"ops\": [\"read\", \"write\"]}",
    "read_only: conflicts" },
  /* expires. */
  { "{\"path\": \"/a\", \"expires\": \"tomorrow\"}", "expires: not an RFC" },
  { "{\"path\": \"/a\", \"expires\": \"2026-13-01T00:00:00Z\"}", "expires:" },
  { "{\"path\": \"/a\", \"expires\": \"2026-11-21T10:00:00Zx\"}", "expires:" },
  { "{\"path\": \"/a\", \"expires\": -1}", "expires: must not be negative" },
  { "{\"path\": \"/a\", \"expires\": 1.5}", "expires: must be" },
  { "{\"path\": \"/a\", \"expires\": true}", "expires: must be" },
  { "{\"path\": \"/a\", \"expires\": [1]}", "expires: must be" },
  /* Booleans and labels. */
  { "{\"path\": \"/a\", \"sparse\": \"yes\"}", "sparse: must be true or false" },
  { "{\"path\": \"/a\", \"sparse\": 1}", "sparse: must be true or false" },
  { "{\"path\": \"/a\", \"dirty\": \"true\"}", "dirty: must be true or false" },
  { "{\"path\": \"/a\", \"filename\": 1}", "filename: must be a string" },
  /* filename ends up in a Content-Disposition header. */
  { "{\"path\": \"/a\", \"filename\": \"\"}", "filename: must not be empty" },
  { "{\"path\": \"/a\", \"filename\": \"a\\r\\nX-Evil: 1\"}", "filename: control" },
  { "{\"path\": \"/a\", \"filename\": \"a\\\"b\"}", "filename: control" },
  { "{\"path\": \"/a\", \"filename\": \"a\\\\b\"}", "filename: control" },
  { "{\"path\": \"/a\", \"filename\": \"../b\"}", "filename: control" },
  { "{\"path\": \"/a\", \"filename\": \"disk 1 (copy).raw\"}", NULL },
  { "{\"path\": \"/a\", \"transfer_id\": []}", "transfer_id: must be" },
};

/* Test names are one TAP line: show control characters escaped.
 * Rotates through a few buffers so one tap_ok can use it twice. */
static const char *
show (const char *s)
{
  static char bufs[4][512];
  static unsigned next;
  char *buf = bufs[next++ % 4];
  size_t j = 0;

  for (; *s && j < sizeof bufs[0] - 5; s++) {
    unsigned char c = (unsigned char) *s;

    if (c < 0x20 || c >= 0x7f) {
      snprintf (buf + j, 5, "\\x%02x", c);
      j += 4;
    }
    else
      buf[j++] = (char) c;
  }
  buf[j] = '\0';
  return buf;
}

static bool
streq_null (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

static int
parse_string (const char *json, struct transfer *t)
{
  return transfer_parse ("test", json, strlen (json), t);
}

/* A descriptor that is only {"url": url}. */
static int
parse_url (const char *url, struct transfer *t)
{
  json_object *obj = json_object_new_object ();
  int r;

  json_object_object_add (obj, "url", json_object_new_string (url));
  r = transfer_from_json ("t", obj, t);
  json_object_put (obj);
  return r;
}

static bool
is_backend (const struct transfer *t, const char *name)
{
  return t->type != NULL && strcmp (t->type->name, name) == 0;
}

/* A location string of t by its descriptor name: the backends' own
 * structs, which only they and these tests look into. */
static const char *
location (const struct transfer *t, const char *name)
{
  const struct file_location *file = t->location;
  const struct nbd_location *nbd = t->location;

  if (is_backend (t, "file"))
    return strcmp (name, "path") == 0 ? file->path : NULL;
  if (!is_backend (t, "nbd"))
    return NULL;
  return strcmp (name, "socket") == 0 ? nbd->socket
         : strcmp (name, "host") == 0 ? nbd->host
         : strcmp (name, "port") == 0 ? nbd->port
         : strcmp (name, "export") == 0 ? nbd->export_name
         : strcmp (name, "export_bitmap") == 0 ? nbd->export_bitmap
         : NULL;
}

/* A failed parse leaves nothing behind: no backend, no location, no
 * strings. */
static bool
nothing_left (const struct transfer *t)
{
  return t->type == NULL && t->location == NULL && t->filename == NULL
         && t->transfer_id == NULL;
}

static uint64_t
file_offset (const struct transfer *t)
{
  return ((const struct file_location *) t->location)->offset;
}

static void
test_ids (void)
{
  char long_id[TRANSFER_ID_MAX + 2];

  for (size_t i = 0; i < sizeof id_tests / sizeof id_tests[0]; i++)
    tap_ok (transfer_id_valid (id_tests[i].id) == id_tests[i].valid,
            "transfer_id_valid \"%s\" -> %s", show (id_tests[i].id),
            id_tests[i].valid ? "valid" : "invalid");

  memset (long_id, 'x', sizeof long_id);
  long_id[TRANSFER_ID_MAX] = '\0';
  tap_ok (transfer_id_valid (long_id), "transfer_id_valid 128 chars");
  long_id[TRANSFER_ID_MAX] = 'x';
  long_id[TRANSFER_ID_MAX + 1] = '\0';
  tap_ok (!transfer_id_valid (long_id), "transfer_id_valid 129 chars invalid");
  tap_ok (!transfer_id_valid (NULL), "transfer_id_valid NULL invalid");
}

static void
test_rfc3339 (void)
{
  for (size_t i = 0; i < sizeof rfc3339_tests / sizeof rfc3339_tests[0];
       i++) {
    int64_t seconds = -12345;
    int r = transfer_parse_rfc3339 (rfc3339_tests[i].text, &seconds);
    bool pass = rfc3339_tests[i].ok ? r == 0
                                          && seconds == rfc3339_tests[i].seconds
                                    : r == -1;

    tap_ok (pass, "transfer_parse_rfc3339 \"%s\" -> %s (got %d, %" PRId64 ")",
            show (rfc3339_tests[i].text), rfc3339_tests[i].ok ? "ok" : "invalid", r,
            seconds);
  }
}

static void
test_urls (void)
{
  for (size_t i = 0; i < sizeof url_tests / sizeof url_tests[0]; i++) {
    struct transfer t;
    int r;
    bool pass;

    r = parse_url (url_tests[i].url, &t);
    if (url_tests[i].ok)
      pass = r == 0 && is_backend (&t, url_tests[i].backend)
             && streq_null (location (&t, "path"), url_tests[i].path)
             && streq_null (location (&t, "socket"), url_tests[i].socket)
             && streq_null (location (&t, "host"), url_tests[i].host)
             && streq_null (location (&t, "port"), url_tests[i].port)
             && streq_null (location (&t, "export"), url_tests[i].export_name);
    else
      pass = r == -1 && errno == EINVAL && nothing_left (&t)
             && location (&t, "host") == NULL && strncmp (error_message (), "url: ", 5) == 0;
    tap_ok (pass, "url \"%s\" -> %s (%s)",
            show (url_tests[i].url), url_tests[i].ok ? "ok" : "invalid",
            r == -1 ? error_message () : "parsed");
    transfer_free (&t);
  }
}

static void
test_descriptors (void)
{
  for (size_t i = 0; i < sizeof descriptor_tests / sizeof descriptor_tests[0];
       i++) {
    const char *want = descriptor_tests[i].error;
    struct transfer t;
    int r;

    error_clear ();
    r = parse_string (descriptor_tests[i].json, &t);
    if (want == NULL) {
      tap_ok (r == 0, "transfer_parse %s -> valid%s%s",
              show (descriptor_tests[i].json), r == 0 ? "" : ", got: ",
              r == 0 ? "" : error_message ());
      if (r == 0)
        transfer_free (&t);
    }
    else
      tap_ok (r == -1 && errno == EINVAL
              && strstr (error_message (), want) != NULL
              && nothing_left (&t),
              "transfer_parse %s -> invalid \"%s\" (got %d \"%s\")",
              show (descriptor_tests[i].json), want, r, error_message ());
  }

  /* Not NUL-terminated: the length bounds the parse. */
  {
    const char text[] = "{\"path\": \"/a\"}GARBAGE";
    struct transfer t;

    tap_ok (transfer_parse ("test", text, 14, &t) == 0
            && strcmp (location (&t, "path"), "/a") == 0,
            "transfer_parse honours the length of unterminated text");
    transfer_free (&t);
  }
}

/* The fields of each dialect land where they belong. */
static void
test_dialects (void)
{
  struct transfer t;

  tap_ok (parse_string ("{\"path\": \"/a\"}", &t) == 0
          && is_backend (&t, "file") && strcmp (location (&t, "path"), "/a") == 0
          && file_offset (&t) == 0 && !t.has_size && !t.has_expires
          && t.ops == (TRANSFER_OP_READ | TRANSFER_OP_WRITE) && t.sparse
          && !t.dirty && t.timeout == 0 && t.inactivity_timeout == 0
          && location (&t, "socket") == NULL && location (&t, "export") == NULL && location (&t, "port") == NULL
          && t.filename == NULL && strcmp (t.id, "test") == 0,
          "canonical minimal file descriptor has the defaults");
  transfer_free (&t);

  tap_ok (parse_string ("{\"backend\": \"file\", \"path\": \"/dev/sdb\", "
                        "\"offset\": 1048576, \"size\": 4096, "
                        "\"ops\": [\"read\"], \"expires\": 1893456000, "
                        "\"inactivity_timeout\": 60, \"sparse\": false, "
                        "\"filename\": \"x.raw\", \"transfer_id\": \"tid\"}",
                        &t) == 0
          && file_offset (&t) == 1048576 && t.has_size && t.size == 4096
          && t.ops == TRANSFER_OP_READ && t.has_expires
          && t.expires == 1893456000 && t.inactivity_timeout == 60
          && !t.sparse && strcmp (t.filename, "x.raw") == 0
          && strcmp (t.transfer_id, "tid") == 0,
          "canonical file descriptor, every field");
  transfer_free (&t);

  tap_ok (parse_string ("{\"uuid\": \"u\", \"size\": 1024, "
                        "\"url\": \"nbd:unix:/run/x.sock:exportname=sda\", "
                        "\"timeout\": 300, \"inactivity_timeout\": 20, "
                        "\"ops\": [\"write\"], \"dirty\": true, "
                        "\"sparse\": true, \"filename\": \"f\", "
                        "\"transfer_id\": \"t\"}", &t) == 0
          && is_backend (&t, "nbd")
          && strcmp (location (&t, "socket"), "/run/x.sock") == 0
          && strcmp (location (&t, "export"), "sda") == 0 && location (&t, "host") == NULL
          && location (&t, "port") == NULL && t.size == 1024 && t.timeout == 300
          && t.inactivity_timeout == 20
          && t.ops == (TRANSFER_OP_READ | TRANSFER_OP_WRITE) && t.dirty
          && location (&t, "path") == NULL,
          "ImageIO nbd ticket; write implies read");
  transfer_free (&t);

  tap_ok (parse_string ("{\"uuid\": \"u\", \"size\": 1024, "
                        "\"url\": \"file:///var/tmp/d.raw\", \"timeout\": 300,"
                        " \"ops\": [\"read\"], \"sparse\": false}", &t) == 0
          && is_backend (&t, "file")
          && strcmp (location (&t, "path"), "/var/tmp/d.raw") == 0
          && t.ops == TRANSFER_OP_READ && !t.sparse,
          "ImageIO file ticket");
  transfer_free (&t);

  tap_ok (parse_string ("{\"url\": \"nbd:h.example:10810:exportname=e\"}", &t)
          == 0
          && strcmp (location (&t, "host"), "h.example") == 0 && strcmp (location (&t, "port"), "10810") == 0
          && strcmp (location (&t, "export"), "e") == 0 && location (&t, "socket") == NULL,
          "ImageIO nbd ticket over TCP");
  transfer_free (&t);

  tap_ok (parse_string ("{\"socket\": \"/run/cs.sock\", \"export\": \"vda\", "
                        "\"export_bitmap\": \"bm\", \"read_only\": true, "
                        "\"idle_timeout_seconds\": 900}", &t) == 0
          && is_backend (&t, "nbd")
          && strcmp (location (&t, "socket"), "/run/cs.sock") == 0
          && strcmp (location (&t, "export"), "vda") == 0
          && strcmp (location (&t, "export_bitmap"), "bm") == 0 && t.ops == TRANSFER_OP_READ
          && t.inactivity_timeout == 900 && location (&t, "port") == NULL,
          "CloudStack nbd descriptor: socket implies nbd");
  transfer_free (&t);

  tap_ok (parse_string ("{\"file\": \"/var/lib/x.raw\", \"read_only\": false}",
                        &t) == 0
          && is_backend (&t, "file")
          && strcmp (location (&t, "path"), "/var/lib/x.raw") == 0
          && t.ops == (TRANSFER_OP_READ | TRANSFER_OP_WRITE),
          "CloudStack file descriptor: file is an alias of path");
  transfer_free (&t);

  tap_ok (parse_string ("{\"backend\": \"nbd\", \"socket\": \"/s\"}", &t) == 0
          && strcmp (location (&t, "export"), "") == 0,
          "export defaults to the empty string");
  transfer_free (&t);

  tap_ok (parse_string ("{\"host\": \"h\"}", &t) == 0
          && is_backend (&t, "nbd") && strcmp (location (&t, "port"), "10809") == 0,
          "port defaults to 10809");
  transfer_free (&t);

  tap_ok (parse_string ("{\"path\": \"/a\", \"expires\": "
                        "\"1969-12-31T00:00:00Z\"}", &t) == 0
          && t.has_expires && t.expires == 0,
          "expires before 1970 is clamped to 0 (already expired)");
  transfer_free (&t);
}

/* to_json writes canonical names; parsing that gives the same struct
 * and the same JSON again. */
static void
check_round_trip (const char *name, const char *json)
{
  struct transfer t1, t2;
  json_object *j1 = NULL, *j2 = NULL;
  char *s1 = NULL;
  bool pass = false;

  if (parse_string (json, &t1) == -1) {
    tap_ok (false, "round trip %s: parse: %s", name, error_message ());
    return;
  }
  j1 = transfer_to_json (&t1);
  if (j1) {
    s1 = strdup (json_object_to_json_string_ext (j1, JSON_C_TO_STRING_PLAIN));
    if (s1 && parse_string (s1, &t2) == 0) {
      j2 = transfer_to_json (&t2);
      pass = j2 && strcmp (s1, json_object_to_json_string_ext (
                                   j2, JSON_C_TO_STRING_PLAIN)) == 0
             && t2.type == t1.type && t2.ops == t1.ops
             && t2.has_size == t1.has_size && t2.size == t1.size
             && t2.expires == t1.expires && t2.sparse == t1.sparse
             && streq_null (location (&t2, "path"), location (&t1, "path"))
             && streq_null (location (&t2, "socket"), location (&t1, "socket"))
             && streq_null (location (&t2, "export"), location (&t1, "export"));
      transfer_free (&t2);
    }
  }
  tap_ok (pass, "round trip %s: %s", name, s1 ? s1 : "(null)");
  free (s1);
  if (j1)
    json_object_put (j1);
  if (j2)
    json_object_put (j2);
  transfer_free (&t1);
}

static void
test_to_json (void)
{
  struct transfer t;
  json_object *j, *v;

  parse_string ("{\"path\": \"/a\", \"ops\": [\"read\"], "
                "\"expires\": \"2026-11-21T10:00:00Z\"}", &t);
  j = transfer_to_json (&t);
  tap_ok (j != NULL && json_object_object_get_ex (j, "ops", &v)
          && json_object_is_type (v, json_type_array)
          && json_object_array_length (v) == 1
          && strcmp (json_object_get_string (json_object_array_get_idx (v, 0)),
                     "read") == 0,
          "transfer_to_json: ops is an array");
  tap_ok (j != NULL && json_object_object_get_ex (j, "expires", &v)
          && json_object_is_type (v, json_type_int)
          && json_object_get_int64 (v) == INT64_C (1795255200),
          "transfer_to_json: expires is Unix seconds");
  tap_ok (j != NULL && !json_object_object_get_ex (j, "size", NULL)
          && !json_object_object_get_ex (j, "filename", NULL)
          && !json_object_object_get_ex (j, "socket", NULL),
          "transfer_to_json: unset size and NULL strings are omitted");
  tap_ok (j != NULL && json_object_object_get_ex (j, "backend", &v)
          && strcmp (json_object_get_string (v), "file") == 0
          && json_object_object_get_ex (j, "path", &v)
          && strcmp (json_object_get_string (v), "/a") == 0,
          "transfer_to_json: backend and path");
  json_object_put (j);
  transfer_free (&t);

  check_round_trip ("canonical file",
                    "{\"path\": \"/a\", \"offset\": 4096, \"size\": 8192, "
                    "\"expires\": 5, \"filename\": \"f\", \"sparse\": false}");
  check_round_trip ("ImageIO", "{\"url\": \"nbd:unix:/s:exportname=x\", "
                    "\"ops\": [\"read\"], \"dirty\": true, \"timeout\": 9}");
  check_round_trip ("CloudStack", "{\"socket\": \"/s\", \"export\": \"e\", "
                    "\"export_bitmap\": \"b\", \"idle_timeout_seconds\": 3}");
  check_round_trip ("TCP", "{\"url\": \"nbd://h:10811/e\"}");
  check_round_trip ("http", "{\"url\": \"https://h:54322/images/x\", "
                    "\"insecure\": true, \"remote_timeout\": 5, "
                    "\"headers\": {\"Authorization\": \"Bearer t\"}}");
}

/* The http backend's headers are credentials: the normalized JSON
 * names them and masks their values. */
static void
test_http_headers_masked (void)
{
  struct transfer t;
  json_object *j;
  const char *s;

  if (parse_string ("{\"url\": \"http://h/images/x\", \"headers\": "
                    "{\"Authorization\": \"Bearer s3cr3t\"}}", &t) == -1) {
    tap_ok (false, "http headers: parse: %s", error_message ());
    return;
  }
  j = transfer_to_json (&t);
  s = j ? json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN) : "";
  tap_ok (strstr (s, "s3cr3t") == NULL
          && strstr (s, "\"headers\":{\"Authorization\":\"***\"}") != NULL,
          "http headers masked in the normalized JSON: %s", s);
  tap_ok (strcmp (t.type->name, "http") == 0, "an http url selects http");
  json_object_put (j);
  transfer_free (&t);
}

/* Where etc/examples is: $top_srcdir, else next to this source file. */
static char *
examples_dir (void)
{
  const char *top = getenv ("top_srcdir");
  const char *suffix = "tests/unit/test-transfer.c";
  size_t n = strlen (__FILE__), m = strlen (suffix);
  char *dir;

  if (top && top[0]) {
    if (asprintf (&dir, "%s/etc/examples", top) == -1)
      return NULL;
    return dir;
  }
  if (n >= m && strcmp (&__FILE__[n - m], suffix) == 0) {
    if (asprintf (&dir, "%.*setc/examples", (int) (n - m), __FILE__) == -1)
      return NULL;
    return dir;
  }
  return NULL;
}

static void
test_examples (void)
{
  static const char *const names[] = {
    "canonical-file", "canonical-nbd", "imageio-nbd", "cloudstack-nbd",
    "gateway-http",
  };
  char *dir = examples_dir ();

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    struct transfer t;
    int r = -1;

    if (dir)
      r = transfer_load (dir, names[i], &t);
    tap_ok (r == 0, "example %s/%s.json parses%s%s", dir ? dir : "(unknown)",
            names[i], r == 0 ? "" : ": ", r == 0 ? "" : error_message ());
    if (r == 0)
      transfer_free (&t);
  }
  free (dir);
}

static int
write_file (const char *dir, const char *name, const char *content)
{
  char path[4096];
  FILE *fp;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  fp = fopen (path, "w");
  if (fp == NULL)
    return -1;
  fputs (content, fp);
  return fclose (fp);
}

/* Run transfer_load with stderr captured; returns what was logged. */
static char *
load_capturing_log (const char *dir, const char *id, int *r,
                    struct transfer *t)
{
  FILE *log = tmpfile ();
  int saved = dup (STDERR_FILENO);
  char *text = calloc (1, 4096);

  fflush (stderr);
  dup2 (fileno (log), STDERR_FILENO);
  *r = transfer_load (dir, id, t);
  dup2 (saved, STDERR_FILENO);
  close (saved);
  rewind (log);
  if (fread (text, 1, 4095, log) == 0)
    text[0] = '\0';
  fclose (log);
  return text;
}

static void
test_load (void)
{
  char dir[] = "/tmp/test-transfer.XXXXXX";
  char path[4096], tmp[4096];
  struct transfer t;
  struct stat st;
  char *big, *logged;
  int r;

  if (mkdtemp (dir) == NULL) {
    tap_ok (false, "mkdtemp: %s", strerror (errno));
    return;
  }

  write_file (dir, "good.json", "{\"path\": \"/var/tmp/disk.raw\"}\n");
  snprintf (path, sizeof path, "%s/good.json", dir);
  stat (path, &st);
  r = transfer_load (dir, "good", &t);
  tap_ok (r == 0 && strcmp (location (&t, "path"), "/var/tmp/disk.raw") == 0
          && strcmp (t.id, "good") == 0 && t.spool_ino == st.st_ino
          && t.spool_dev == st.st_dev && t.spool_mtime == st.st_mtime,
          "transfer_load valid file records its identity");
  tap_ok (r == 0 && transfer_still_present (dir, &t),
          "transfer_still_present while the file is there");
  /* Replaced by rename (extending a ticket): not a cancel. */
  write_file (dir, ".good.json.tmp", "{\"path\": \"/var/tmp/disk.raw\"}\n");
  snprintf (tmp, sizeof tmp, "%s/.good.json.tmp", dir);
  rename (tmp, path);
  tap_ok (r == 0 && transfer_still_present (dir, &t),
          "transfer_still_present still true after rename-replace");
  if (r == 0)
    transfer_free (&t);
  r = transfer_load (dir, "good", &t);
  unlink (path);
  tap_ok (r == 0 && !transfer_still_present (dir, &t),
          "transfer_still_present false after unlink");
  if (r == 0)
    transfer_free (&t);

  write_file (dir, "bad.json", "{\"path\": \"relative\"}");
  logged = load_capturing_log (dir, "bad", &r, &t);
  tap_ok (r == -1 && errno == ENOENT && error_errno () == ENOENT
          && strstr (error_message (), "path: must be absolute") != NULL,
          "transfer_load invalid file is ENOENT with the reason (%s)",
          error_message ());
  tap_ok (strstr (logged, "warning") != NULL
          && strstr (logged, "path: must be absolute") != NULL,
          "transfer_load logs the reason at warning level");
  free (logged);
  logged = load_capturing_log (dir, "bad", &r, &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (logged, "warning") == NULL,
          "transfer_load warns only once per file version");
  free (logged);
  {
    struct timespec times[2] = { { 1000000, 0 }, { 1000000, 0 } };

    snprintf (path, sizeof path, "%s/bad.json", dir);
    utimensat (AT_FDCWD, path, times, 0);
  }
  logged = load_capturing_log (dir, "bad", &r, &t);
  tap_ok (r == -1 && strstr (logged, "warning") != NULL,
          "transfer_load warns again after the file changed");
  free (logged);

  write_file (dir, "trunc.json", "{\"path\": \"/var/tmp/di");
  r = transfer_load (dir, "trunc", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "truncated"),
          "transfer_load half-written file is ENOENT (%s)", error_message ());

  write_file (dir, "target.json", "{\"path\": \"/a\"}");
  snprintf (path, sizeof path, "%s/link.json", dir);
  symlink ("target.json", path);
  r = transfer_load (dir, "link", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "symbolic"),
          "transfer_load refuses a symlink (%s)", error_message ());

  snprintf (path, sizeof path, "%s/dir.json", dir);
  mkdir (path, 0700);
  r = transfer_load (dir, "dir", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "regular"),
          "transfer_load refuses a directory (%s)", error_message ());

  snprintf (path, sizeof path, "%s/fifo.json", dir);
  mkfifo (path, 0600);
  r = transfer_load (dir, "fifo", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "regular"),
          "transfer_load refuses a FIFO without blocking (%s)",
          error_message ());

  big = malloc (2 * 1024 * 1024);
  memset (big, ' ', 2 * 1024 * 1024 - 1);
  big[0] = '{';
  memcpy (big + 1, "\"path\": \"/a\"", 12);
  big[2 * 1024 * 1024 - 2] = '}';
  big[2 * 1024 * 1024 - 1] = '\0';
  write_file (dir, "big.json", big);
  free (big);
  r = transfer_load (dir, "big", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "too large"),
          "transfer_load refuses a descriptor over 1 MiB (%s)",
          error_message ());

  r = transfer_load (dir, "missing", &t);
  tap_ok (r == -1 && errno == ENOENT && strstr (error_message (), "no such"),
          "transfer_load missing file is ENOENT (%s)", error_message ());

  r = transfer_load (dir, "../etc/passwd", &t);
  tap_ok (r == -1 && errno == EINVAL, "transfer_load bad id is EINVAL");
  r = transfer_load (dir, ".good", &t);
  tap_ok (r == -1 && errno == EINVAL, "transfer_load hidden id is EINVAL");

  r = transfer_load ("/nonexistent-spool", "good", &t);
  tap_ok (r == -1 && errno == ENOENT,
          "transfer_load with a missing spool is ENOENT");

  /* Clean up the spool. */
  {
    static const char *const files[] = {
      "bad.json", "trunc.json", "target.json", "link.json", "fifo.json",
      "big.json",
    };

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf (path, sizeof path, "%s/%s", dir, files[i]);
      unlink (path);
    }
    snprintf (path, sizeof path, "%s/dir.json", dir);
    rmdir (path);
    rmdir (dir);
  }
}

/* image_roots: what resolves inside a root, links and ".." included. */
static void
test_image_roots (void)
{
  char dir[] = "/tmp/test-roots.XXXXXX", root[PATH_MAX], outside[PATH_MAX];
  char path[PATH_MAX + 64];
  char *resolved_root;
  const char *roots[2];
  struct transfer t;
  int r;

  if (mkdtemp (dir) == NULL) {
    tap_ok (false, "mkdtemp: %s", strerror (errno));
    return;
  }
  snprintf (root, sizeof root, "%s/root", dir);
  snprintf (outside, sizeof outside, "%s/outside", dir);
  mkdir (root, 0700);
  mkdir (outside, 0700);
  resolved_root = realpath (root, NULL);
  roots[0] = resolved_root;
  roots[1] = NULL;
  snprintf (path, sizeof path, "%s/in.raw", root);
  close (open (path, O_WRONLY | O_CREAT, 0600));
  snprintf (path, sizeof path, "%s/secret.raw", outside);
  close (open (path, O_WRONLY | O_CREAT, 0600));
  snprintf (path, sizeof path, "%s/link.raw", root);
  if (symlink ("../outside/secret.raw", path) == -1)
    tap_ok (false, "symlink: %s", strerror (errno));

  snprintf (path, sizeof path, "%s/in.raw", root);
  tap_ok (transfer_path_confined (path, roots), "roots: a file inside");
  snprintf (path, sizeof path, "%s/new.raw", root);
  tap_ok (transfer_path_confined (path, roots),
          "roots: a file not there yet, in a root");
  snprintf (path, sizeof path, "%s/secret.raw", outside);
  tap_ok (!transfer_path_confined (path, roots), "roots: a file outside");
  snprintf (path, sizeof path, "%s/link.raw", root);
  tap_ok (!transfer_path_confined (path, roots),
          "roots: a link from inside to outside");
  snprintf (path, sizeof path, "%s/../outside/secret.raw", root);
  tap_ok (!transfer_path_confined (path, roots), "roots: .. out of a root");
  snprintf (path, sizeof path, "%s/../outside/new.raw", root);
  tap_ok (!transfer_path_confined (path, roots),
          "roots: a new file under .. out of a root");
  snprintf (path, sizeof path, "%sx/in.raw", root);
  tap_ok (!transfer_path_confined (path, roots),
          "roots: a sibling whose name starts like the root");

  /* Descriptors parsed while roots are set are held to them. */
  transfer_set_image_roots (roots);
  snprintf (path, sizeof path, "{\"path\": \"%s/secret.raw\"}", outside);
  r = parse_string (path, &t);
  tap_ok (r == -1 && strstr (error_message (), "outside image_roots") != NULL
          && nothing_left (&t),
          "roots: a descriptor outside is invalid: %s", error_message ());
  snprintf (path, sizeof path, "{\"path\": \"%s/in.raw\"}", root);
  r = parse_string (path, &t);
  tap_ok (r == 0, "roots: a descriptor inside is valid");
  if (r == 0)
    transfer_free (&t);
  r = parse_string ("{\"socket\": \"/elsewhere/nbd.sock\"}", &t);
  tap_ok (r == 0, "roots: an NBD socket is not an image: not confined");
  if (r == 0)
    transfer_free (&t);
  transfer_set_image_roots (NULL);

  snprintf (path, sizeof path, "rm -rf %s", dir);
  if (system (path) != 0)
    fprintf (stderr, "# could not remove %s\n", dir);
  free (resolved_root);
}

/* Load transfer "kept" of dir: whether it loads with path want. */
static bool
kept_path_is (const char *dir, const char *want)
{
  struct transfer t;
  bool same;

  if (transfer_load (dir, "kept", &t) == -1)
    return false;
  same = strcmp (location (&t, "path"), want) == 0;
  transfer_free (&t);
  return same;
}

/* A descriptor unchanged since the last load may be served from the
 * worker's copy (descriptor-cache.c), which only keeps files whose change
 * time is over a second old: every change after that must show. */
static void
test_load_unchanged (void)
{
  char dir[] = "/tmp/test-transfer.XXXXXX";
  char path[4096], tmp[4096];
  struct transfer t;

  if (mkdtemp (dir) == NULL) {
    tap_ok (false, "mkdtemp: %s", strerror (errno));
    return;
  }
  snprintf (path, sizeof path, "%s/kept.json", dir);
  snprintf (tmp, sizeof tmp, "%s/.kept.json.tmp", dir);
  write_file (dir, "kept.json", "{\"path\": \"/var/tmp/a.raw\"}\n");
  sleep (2);
  tap_ok (kept_path_is (dir, "/var/tmp/a.raw")
          && kept_path_is (dir, "/var/tmp/a.raw"),
          "an old descriptor loaded twice: as written");
  /* Rewritten in place, same size, within the same second. */
  write_file (dir, "kept.json", "{\"path\": \"/var/tmp/b.raw\"}\n");
  tap_ok (kept_path_is (dir, "/var/tmp/b.raw"),
          "rewritten in place with the same size: the new text is read");
  sleep (2);
  kept_path_is (dir, "/var/tmp/b.raw");
  /* Replaced by rename. */
  write_file (dir, ".kept.json.tmp", "{\"path\": \"/var/tmp/c.raw\"}\n");
  rename (tmp, path);
  tap_ok (kept_path_is (dir, "/var/tmp/c.raw"),
          "replaced by rename: the new descriptor is read");
  sleep (2);
  kept_path_is (dir, "/var/tmp/c.raw");
  /* Deleted: cancelled at once, whatever was kept. */
  unlink (path);
  tap_ok (transfer_load (dir, "kept", &t) == -1 && error_errno () == ENOENT,
          "deleted after being kept: no such transfer (%s)",
          error_message ());
  rmdir (dir);
}

int
main (void)
{
  test_ids ();
  test_rfc3339 ();
  test_urls ();
  test_descriptors ();
  test_dialects ();
  test_to_json ();
  test_examples ();
  test_http_headers_masked ();
  test_load ();
  test_load_unchanged ();
  test_image_roots ();
  return tap_done ();
}
