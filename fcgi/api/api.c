/* SPDX-License-Identifier: Apache-2.0 */
/* The management API (API.md section 3): routing, the daemon and its
 * events.  Metrics are in api-metrics.c, transfers in api-transfers.c,
 * the responses they all share (errors included) in api-response.c.
 * The web server keeps /api off the public listener; nothing here
 * trusts that less or more than /images does.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-internal.h"
#include "api-response.h"
#include "api.h"
#include "backend-registry.h"
#include "cleanup.h"
#include "events.h"
#include "stats.h"

static json_object *
string_array (const char *const *items)
{
  json_object *a = json_object_new_array ();

  for (size_t i = 0; a && items[i]; i++)
    json_object_array_add (a, json_object_new_string (items[i]));
  return a;
}

/* Every backend of the registry, by name. */
static json_object *
backend_names (void)
{
  json_object *a = json_object_new_array ();

  for (size_t i = 0; a && backend_types[i]; i++)
    json_object_array_add (a, json_object_new_string (backend_types[i]->name));
  return a;
}

/* {"path": ..., "ok": bool, "error": null | "..."}: a directory that
 * was fine at start may have gone since. */
static json_object *
directory_status (const char *path)
{
  json_object *obj = json_object_new_object ();
  char why[256];
  bool ok = config_directory_usable (path, why, sizeof why);

  if (obj == NULL)
    return NULL;
  json_object_object_add (obj, "path", json_object_new_string (path));
  json_object_object_add (obj, "ok", json_object_new_boolean (ok));
  json_object_object_add (obj, "error", ok ? NULL
                          : json_object_new_string (why));
  return obj;
}

static void
daemon_info (struct request *req, const struct config *cfg)
{
  static const char *const features[] = {
    "extents", "checksum", "zero", "flush", "dirty-extents", "prometheus",
    "events", "transfers-api", NULL,
  };
  json_object *obj = json_object_new_object ();
  struct stats_daemon_info d;
  time_t now = time (NULL);
  bool known = stats_daemon (&d) == 0 && d.start_time > 0;

  if (obj == NULL) {
    api_error (req, 500, "out of memory");
    return;
  }
  json_object_object_add (obj, "version",
                          json_object_new_string (PACKAGE_VERSION));
  if (known) {
    json_object_object_add (obj, "pid",
                            json_object_new_int64 (d.supervisor_pid));
    json_object_object_add (obj, "start_time",
                            json_object_new_int64 (d.start_time));
    json_object_object_add (obj, "uptime",
                            json_object_new_int64 (now - d.start_time));
    json_object_object_add (obj, "workers",
                            json_object_new_int64 (d.workers));
  }
  else {
    /* No shared table: only what this worker knows. */
    json_object_object_add (obj, "pid", json_object_new_int64 (getppid ()));
    json_object_object_add (obj, "start_time", NULL);
    json_object_object_add (obj, "uptime", NULL);
    json_object_object_add (obj, "workers",
                            json_object_new_int64 (cfg->workers));
  }
  json_object_object_add (obj, "worker_pid", json_object_new_int64 (getpid ()));
  json_object_object_add (obj, "spool_dir",
                          json_object_new_string (cfg->spool_dir));
  json_object_object_add (obj, "state_dir",
                          json_object_new_string (cfg->state_dir));
  json_object_object_add (obj, "spool", directory_status (cfg->spool_dir));
  json_object_object_add (obj, "state", directory_status (cfg->state_dir));
  json_object_object_add (obj, "stats", json_object_new_boolean (known));
  json_object_object_add (obj, "backends", backend_names ());
  json_object_object_add (obj, "features", string_array (features));
  if (cfg->sendfile)
    json_object_array_add (json_object_object_get (obj, "features"),
                           json_object_new_string ("sendfile"));
  api_json (req, 200, obj);
}

/* ISO 8601 UTC with milliseconds. */
static json_object *
time_string (int64_t ms)
{
  time_t seconds = (time_t) (ms / 1000);
  struct tm tm;
  char buf[40], out[48];

  gmtime_r (&seconds, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (out, sizeof out, "%s.%03dZ", buf, (int) (ms % 1000));
  return json_object_new_string (out);
}

static void
daemon_events (struct request *req, const struct config *cfg)
{
  static struct event_info events[EVENTS_RING];
  size_t n = events_read (events, EVENTS_RING);
  json_object *list, *obj = api_list_object (req, "events", &list);

  if (obj == NULL)
    return;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_new_object ();

    json_object_object_add (e, "seq", json_object_new_uint64 (events[i].seq));
    json_object_object_add (e, "time", time_string (events[i].time_ms));
    json_object_object_add (e, "timestamp",
                            api_number (events[i].time_ms / 1000.0, 3));
    json_object_object_add (e, "level", json_object_new_string
                            (events_level_name (events[i].level)));
    json_object_object_add (e, "transfer_id",
                            events[i].transfer_id[0]
                            ? json_object_new_string (events[i].transfer_id)
                            : NULL);
    json_object_object_add (e, "message",
                            json_object_new_string (events[i].message));
    json_object_array_add (list, e);
  }
  api_json (req, 200, obj);
}

/* Routes.  Methods not listed get 405 with Allow. */
struct route {
  const char *path;
  bool prefix;               /* path + "<id>" */
  const char *allow;
  void (*get) (struct request *, const struct config *);
  void (*get_id) (struct request *, const struct config *, const char *);
  void (*put_id) (struct request *, const struct config *, const char *);
  void (*delete_id) (struct request *, const struct config *, const char *);
};

static const struct route routes[] = {
  { .path = "/api/v1/daemon", .allow = "GET", .get = daemon_info },
  { .path = "/api/v1/daemon/events", .allow = "GET", .get = daemon_events },
  { .path = "/api/v1/metrics", .allow = "GET", .get = api_metrics },
  { .path = "/api/v1/metrics/backend", .allow = "GET",
    .get = api_metrics_backend },
  { .path = "/api/v1/metrics/inflight", .allow = "GET",
    .get = api_metrics_inflight },
  { .path = "/api/v2/transfers", .allow = "GET", .get = api_transfers_list },
  { .path = "/api/v2/transfers/", .prefix = true, .allow = "GET, PUT, DELETE",
    .get_id = api_transfer_get, .put_id = api_transfer_put,
    .delete_id = api_transfer_delete },
};

void
api_handle (struct request *req, const struct config *cfg)
{
  const char *path = req->path;
  const char *method = req->method;

  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const struct route *r = &routes[i];
    size_t len = strlen (r->path);
    const char *id;

    if (!r->prefix) {
      if (strcmp (path, r->path) != 0)
        continue;
      if (strcmp (method, "GET") == 0) {
        r->get (req, cfg);
        return;
      }
    }
    else {
      if (strncmp (path, r->path, len) != 0 || path[len] == '\0'
          || strchr (path + len, '/') != NULL)
        continue;
      id = path + len;
      if (!transfer_id_valid (id)) {
        api_error (req, 400, "invalid transfer id");
        return;
      }
      if (strcmp (method, "GET") == 0) {
        r->get_id (req, cfg, id);
        return;
      }
      if (strcmp (method, "PUT") == 0) {
        r->put_id (req, cfg, id);
        return;
      }
      if (strcmp (method, "DELETE") == 0) {
        r->delete_id (req, cfg, id);
        return;
      }
    }
    response_header (req, "Allow", "%s", r->allow);
    api_error (req, 405, "method %s not allowed on %s", method, path);
    return;
  }
  api_error (req, 404, "no such resource: %s", path);
}
