/* /images/<id>[/<sub>]: routing, transfer checks, backend lifetime. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend-registry.h"
#include "error.h"
#include "http-status.h"
#include "images.h"
#include "lifecycle.h"
#include "log.h"
#include "range.h"
#include "stats.h"
#include "transfer-status.h"

/* What a route needs from the transfer, and so how the backend opens:
 * reading routes open read-only (the image may be read-only to us),
 * writing routes read-write, and OPTIONS as the transfer allows, since
 * it reports whether writes would work. */
enum access { ACCESS_NONE, ACCESS_READ, ACCESS_WRITE, ACCESS_DESCRIBE };

/* One row per resource and method: what it needs and who serves it. */
struct route {
  const char *sub;
  const char *method;
  enum access access;
  bool needs_backend;
  void (*handler) (struct image_request *ir);
};

static void
handle_get (struct image_request *ir)
{
  images_get (ir, false);
}

static void
handle_head (struct image_request *ir)
{
  images_get (ir, true);
}

static const struct route routes[] = {
  { "", "OPTIONS", ACCESS_DESCRIBE, true, images_options },
  { "", "GET", ACCESS_READ, true, handle_get },
  { "", "HEAD", ACCESS_READ, true, handle_head },
  { "", "PUT", ACCESS_WRITE, true, images_put },
  { "", "PATCH", ACCESS_WRITE, true, images_patch },
  { "flush", "POST", ACCESS_WRITE, true, images_post_flush },
  { "extents", "GET", ACCESS_READ, true, images_extents },
  { "checksum", "GET", ACCESS_READ, true, images_checksum },
  { "checksum/algorithms", "GET", ACCESS_NONE, false,
    images_checksum_algorithms },
};

/* The Allow value for a sub-resource: what the routes table offers
 * (without the writing methods for a read-only transfer). */
static void
allowed_methods (const char *sub, bool read_only, char *buf, size_t size)
{
  /* Sub-resources answer OPTIONS (CORS preflight) outside the table. */
  snprintf (buf, size, "%s", *sub ? "OPTIONS" : "");
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (strcmp (routes[i].sub, sub) != 0
        || (read_only && routes[i].access == ACCESS_WRITE))
      continue;
    if (buf[0])
      strncat (buf, ", ", size - strlen (buf) - 1);
    strncat (buf, routes[i].method, size - strlen (buf) - 1);
  }
}

/* OPTIONS on a sub-resource (/extents, /flush, /checksum...): what a
 * browser's CORS preflight asks before the real request.  No transfer
 * check, as for OPTIONS /images/<*>. */
static void
options_sub_resource (struct request *req, const char *sub)
{
  json_object *body = json_object_new_object ();
  char allow[128];

  allowed_methods (sub, false, allow, sizeof allow);
  response_header (req, "Allow", "%s", allow);
  response_header (req, "Access-Control-Allow-Methods", "%s", allow);
  response_json (req, 200, body);
  json_object_put (body);
}

static void
options_any (struct request *req, const struct config *cfg)
{
  json_object *body = json_object_new_object ();
  json_object *features = json_object_new_array ();
  static const char *const all[] = { "extents", "checksum", "zero", "flush" };

  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    json_object_array_add (features, json_object_new_string (all[i]));
  json_object_object_add (body, "features", features);
  json_object_object_add (body, "max_readers",
                          json_object_new_int ((int) cfg->workers));
  json_object_object_add (body, "max_writers",
                          json_object_new_int ((int) cfg->workers));
  json_object_object_add (body, "unix_socket", NULL);
  response_header (req, "Allow", IMAGES_METHODS_WRITE);
  response_header (req, "Access-Control-Allow-Methods", IMAGES_METHODS_WRITE);
  response_json (req, 200, body);
  json_object_put (body);
}

bool
images_cancelled (struct image_request *ir)
{
  if (transfer_still_present (ir->cfg->spool_dir, &ir->transfer))
    return false;
  stats_transfer_cancelled (ir->transfer.id);
  error_set (ECANCELED, "transfer %s was cancelled", ir->transfer.id);
  return true;
}

void
images_fail (struct image_request *ir, const char *fmt, ...)
{
  struct request *req = ir->req;
  int errnum = error_errno () ? error_errno () : EIO;
  int status = http_status_from_errno (errnum);
  char operation[256];
  va_list args;

  va_start (args, fmt);
  vsnprintf (operation, sizeof operation, fmt, args);
  va_end (args);

  log_error ("%s %s: %s failed: %s", req->method, ir->transfer.id, operation,
             error_message ());
  if (req->status != 0) {
    /* Headers are out: only cutting the connection tells the client. */
    response_abort (req);
    return;
  }
  if (status == 500 || status == 507)
    response_error (req, status, "%s failed: %s", operation,
                    strerror (errnum));
  else
    response_error (req, status, "%s", error_message ());
}

static const struct route *
find_route (const char *sub, const char *method, bool *sub_known)
{
  *sub_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (strcmp (routes[i].sub, sub) != 0)
      continue;
    *sub_known = true;
    if (strcmp (routes[i].method, method) == 0)
      return &routes[i];
  }
  return NULL;
}

/* The spool file is gone: cancelled (403) or never known (404)?  The
 * rule lives in transfer_status_get, which the management API shares. */
static bool
transfer_was_cancelled (const struct config *cfg, const char *id)
{
  struct transfer_status st;
  bool cancelled = false;

  if (transfer_status_get (cfg->spool_dir, id, stats_now_ms (), &st) == 0) {
    cancelled = st.state == TRANSFER_STATE_CANCELLED;
    transfer_status_free (&st);
  }
  if (cancelled)
    stats_transfer_cancelled (id);
  return cancelled;
}

/* Load the transfer.  Answers the error itself and returns -1 when
 * there is none. */
static int
load (struct image_request *ir, const char *id)
{
  struct request *req = ir->req;

  if (transfer_load (ir->cfg->spool_dir, id, &ir->transfer) == -1) {
    int errnum = error_errno ();

    if (errnum == ENOENT && transfer_was_cancelled (ir->cfg, id))
      response_error (req, 403, "transfer %s was cancelled", id);
    else if (errnum == ENOENT)
      response_error (req, 404, "no such transfer: %s", id);
    else {
      log_error ("%s %s: %s", req->method, id, error_message ());
      response_error (req, 500, "cannot read the transfer descriptor");
    }
    return -1;
  }
  return 0;
}

/* Check that the transfer may still do what the route needs.  Answers
 * 403 itself and returns -1 when it may not. */
static int
admit (struct image_request *ir, const struct route *route)
{
  struct request *req = ir->req;
  const char *id = ir->transfer.id;
  enum lifecycle_state state = lifecycle_check (&ir->transfer, time (NULL));

  if (state != LIFECYCLE_OPEN) {
    log_info ("%s %s: refused, transfer %s", req->method, id,
              lifecycle_state_name (state));
    response_error (req, 403, "transfer %s is %s", id,
                    lifecycle_state_name (state));
    return -1;
  }
  if (route->access == ACCESS_WRITE
      && !(ir->transfer.ops & TRANSFER_OP_WRITE)) {
    response_error (req, 403, "transfer %s is read-only", id);
    return -1;
  }
  return 0;
}

/* Where the request starts in the image, for the in-flight table: the
 * first byte of Range (GET, ranged PATCH) or Content-Range (PUT). */
static uint64_t
request_start_offset (struct request *req)
{
  const char *range = request_header (req, "Range");
  const char *content_range = request_header (req, "Content-Range");
  struct range_spec spec;
  struct content_range cr;

  if (range && range_spec_parse (range, &spec) == RANGE_OK && spec.has_first)
    return spec.first;
  if (content_range && content_range_parse (content_range, &cr) == 0)
    return cr.first;
  return 0;
}

static void
log_access (struct image_request *ir, const char *id)
{
  struct request *req = ir->req;
  struct timespec now;
  const char *range = request_header (req, "Range");
  const char *content_range = request_header (req, "Content-Range");
  double seconds;

  clock_gettime (CLOCK_MONOTONIC, &now);
  seconds = (double) (now.tv_sec - req->started.tv_sec)
            + (double) (now.tv_nsec - req->started.tv_nsec) / 1e9;
  log_info ("%s %s%s%s range=%s in=%" PRIu64 " out=%" PRIu64
            " status=%d%s %.3fs",
            req->method, id, ir->sub[0] ? "/" : "", ir->sub,
            range ? range : content_range ? content_range : "-",
            req->body_read, req->body_sent, req->status,
            req->failed ? " (aborted)" : "", seconds);
}

static bool
errno_means_unreachable (int errnum)
{
  return http_status_from_errno (errnum) == 503;
}

/* Open the backend as the route needs it.  Failing to open is the
 * server's problem, never the client's: an unreachable NBD server is 503
 * (the message names the socket, so an operator can act on it), anything
 * else 500 with the details (paths, sizes) only in the log.  OPTIONS on
 * a writable transfer whose image we may not write falls back to
 * read-only and says so in its answer. */
static int
open_backend (struct image_request *ir, const struct route *route)
{
  struct request *req = ir->req;
  bool may_write = ir->transfer.ops & TRANSFER_OP_WRITE;
  bool writable = route->access == ACCESS_WRITE
                  || (route->access == ACCESS_DESCRIBE && may_write);

  ir->backend = backend_open (&ir->transfer, writable);
  if (!ir->backend && route->access == ACCESS_DESCRIBE && writable
      && (error_errno () == EACCES || error_errno () == EROFS
          || error_errno () == EPERM)) {
    log_warning ("OPTIONS %s: %s; reporting read-only", ir->transfer.id,
                 error_message ());
    ir->backend = backend_open (&ir->transfer, false);
  }
  if (ir->backend)
    return 0;

  log_error ("%s %s: open failed: %s", req->method, ir->transfer.id,
             error_message ());
  if (errno_means_unreachable (error_errno ()))
    response_error (req, 503, "%s", error_message ());
  else
    response_error (req, 500, "cannot open the image of transfer %s (see "
                    "the server log)", ir->transfer.id);
  return -1;
}

/* Open the backend the route needs, run it, close the backend. */
static void
serve_route (struct image_request *ir, const struct route *route)
{
  if (route->needs_backend && open_backend (ir, route) == -1)
    return;
  route->handler (ir);
  if (ir->backend) {
    backend_close (ir->backend);
    ir->backend = NULL;
  }
}

/* 405, with Allow listing what this transfer permits there. */
static void
method_not_allowed (struct image_request *ir, const char *id)
{
  struct request *req = ir->req;
  bool read_only = false;
  char allow[128];

  if (transfer_load (ir->cfg->spool_dir, id, &ir->transfer) == 0) {
    read_only = !(ir->transfer.ops & TRANSFER_OP_WRITE);
    transfer_free (&ir->transfer);
  }
  allowed_methods (ir->sub, read_only, allow, sizeof allow);
  response_header (req, "Allow", "%s", allow);
  response_error (req, 405, "method %s not allowed here", req->method);
}

void
images_handle (struct request *req, const struct config *cfg)
{
  struct image_request ir = { .req = req, .cfg = cfg, .sub = "" };
  const char *rest = req->path + strlen ("/images");
  const struct route *route;
  char id[TRANSFER_ID_MAX + 2];
  const char *slash;
  size_t id_len;
  bool sub_known, loaded = false;

  if (*rest == '/')
    rest++;
  slash = strchr (rest, '/');
  id_len = slash ? (size_t) (slash - rest) : strlen (rest);
  ir.sub = slash ? slash + 1 : "";
  if (slash && !*ir.sub) {
    /* "/images/<id>/" names nothing; clients use "/images/<id>". */
    response_error (req, 404, "no such resource: %s", req->path);
    return;
  }

  if (id_len == 1 && rest[0] == '*') {
    if (strcmp (req->method, "OPTIONS") == 0 && !*ir.sub)
      options_any (req, cfg);
    else
      response_error (req, 404, "no such resource: %s", req->path);
    return;
  }
  if (id_len == 0) {
    response_error (req, 404, "no such resource: %s", req->path);
    return;
  }
  if (id_len > TRANSFER_ID_MAX) {
    response_error (req, 400, "invalid transfer id");
    return;
  }
  memcpy (id, rest, id_len);
  id[id_len] = '\0';
  if (!transfer_id_valid (id)) {
    response_error (req, 400, "invalid transfer id");
    return;
  }

  route = find_route (ir.sub, req->method, &sub_known);
  if (!route) {
    if (sub_known && *ir.sub && strcmp (req->method, "OPTIONS") == 0)
      options_sub_resource (req, ir.sub);
    else if (!sub_known)
      response_error (req, 404, "no such resource: %s", req->path);
    else
      method_not_allowed (&ir, id);
    return;
  }

  if (route->access != ACCESS_NONE) {
    if (load (&ir, id) == -1) {
      /* Counted, but not per transfer: unknown ids must not fill the
       * table. */
      stats_request_begin (NULL, NULL, req->method, 0);
      stats_request_end (req->status);
      goto out;
    }
    loaded = true;
  }
  if (loaded)
    stats_request_begin (id, ir.transfer.type->name,
                         req->method, request_start_offset (req));
  else
    stats_request_begin (NULL, NULL, req->method, 0);
  if (!loaded || admit (&ir, route) == 0)
    serve_route (&ir, route);
  /* A response cut short after its headers is a failure, whatever the
   * status line said. */
  stats_request_end (req->failed ? 0 : req->status);

out:
  log_access (&ir, id);
  if (loaded)
    transfer_free (&ir.transfer);
}
