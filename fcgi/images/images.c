/* SPDX-License-Identifier: Apache-2.0 */
/* /images/<id>[/<sub>]: routing, transfer checks, backend lifetime.
 * The routes themselves are images-routes.c. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend-registry.h"
#include "error.h"
#include "http-status.h"
#include "images-request.h"
#include "images-routes.h"
#include "images.h"
#include "lifecycle.h"
#include "log.h"
#include "stats.h"
#include "transfer-status.h"

/* Seconds a client refused for a transfer's cap is asked to wait. */
#define IMAGES_RETRY_AFTER 1

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
  if (cancelled) {
    stats_transfer_cancelled (id);
    /* A connection kept for this transfer serves no one any more. */
    backend_drop_kept ();
  }
  return cancelled;
}

/* Load the transfer.  Answers the error itself and returns -1 when
 * there is none. */
static int
load (struct image_request *ir, const char *id)
{
  struct request *req = ir->req;
  int errnum;

  if (transfer_load (ir->cfg->spool_dir, id, &ir->transfer) == 0) {
    image_request_descriptor_seen (ir);
    return 0;
  }
  errnum = error_errno ();
  if (errnum == ENOENT && transfer_was_cancelled (ir->cfg, id))
    errnum = ECANCELED;
  switch (http_status_from_errno (errnum, HTTP_FAILURE_DESCRIPTOR)) {
  case 403:
    response_error (req, 403, "transfer %s was cancelled", id);
    break;
  case 404:
    response_error (req, 404, "no such transfer: %s", id);
    break;
  default:
    log_error ("%s %s: %s", req->method, id, error_message ());
    response_error (req, 500, "cannot read the transfer descriptor");
    break;
  }
  return -1;
}

/* Check that the transfer may still do what the route needs.  Answers
 * 403 itself and returns -1 when it may not. */
static int
admit (struct image_request *ir, const struct images_route *route)
{
  struct request *req = ir->req;
  const char *id = ir->transfer.id;
  enum lifecycle_state state = lifecycle_check (&ir->transfer, time (NULL));

  if (state != LIFECYCLE_OPEN) {
    log_info ("%s %s: refused, transfer %s client=%s", req->method, id,
              lifecycle_state_name (state), request_client (req));
    response_error (req, 403, "transfer %s is %s", id,
                    lifecycle_state_name (state));
    return -1;
  }
  if (route->access == IMAGES_ACCESS_WRITE
      && !(ir->transfer.ops & TRANSFER_OP_WRITE)) {
    response_error (req, 403, "transfer %s is read-only", id);
    return -1;
  }
  return 0;
}

static void
log_access (struct image_request *ir, const char *id)
{
  struct request *req = ir->req;
  struct timespec now;
  const char *range = ir->range_header;
  const char *content_range = ir->content_range_header;
  double seconds;

  clock_gettime (CLOCK_MONOTONIC, &now);
  seconds = (double) (now.tv_sec - req->started.tv_sec)
            + (double) (now.tv_nsec - req->started.tv_nsec) / 1e9;
  log_info ("%s %s%s%s range=%s in=%" PRIu64 " out=%" PRIu64
            " status=%d%s %.3fs client=%s",
            req->method, id, ir->sub[0] ? "/" : "", ir->sub,
            range ? range : content_range ? content_range : "-",
            req->body_read, req->body_sent, req->status,
            req->failed ? " (aborted)" : "", seconds, request_client (req));
}

/* The per-transfer caps (config max_readers, max_writers): a request
 * beyond them is answered 503 at once, before the backend is opened, so
 * that one transfer's clients cannot hold every worker.  OPTIONS and
 * routes without a transfer are not counted.  Answers itself and
 * returns -1 when refused. */
static int
claim_place (struct image_request *ir, const struct images_route *route)
{
  const struct config *cfg = ir->cfg;
  bool writer = route->access == IMAGES_ACCESS_WRITE;
  const char *kind = writer ? "writers" : "readers";
  unsigned max = writer ? config_max_writers (cfg) : config_max_readers (cfg);
  unsigned max_total = config_max_per_transfer (cfg);

  if (route->access != IMAGES_ACCESS_READ
      && route->access != IMAGES_ACCESS_WRITE)
    return 0;
  if (stats_request_claim (writer, max, max_total)) {
    /* The place goes back as soon as the client has the whole answer:
     * a client that waits for each answer before it sends the next
     * request must never find its own previous request counted. */
    ir->req->on_answered = stats_request_unclaim;
    return 0;
  }
  log_info ("%s %s: refused, %u %s or %u requests in flight already "
            "(max_%s)", ir->req->method, ir->transfer.id, max, kind,
            max_total, kind);
  response_header (ir->req, "Retry-After", "%d", IMAGES_RETRY_AFTER);
  response_error (ir->req, 503, "transfer %s has too many requests in "
                  "flight (max_%s %u); retry later", ir->transfer.id, kind,
                  max);
  return -1;
}

/* Open the backend as the route needs it.  Failing to open is the
 * server's problem, never the client's: an unreachable NBD server is 503
 * (the message names the socket, so an operator can act on it), anything
 * else 500 with the details (paths, sizes) only in the log.  OPTIONS on
 * a writable transfer whose image we may not write falls back to
 * read-only and says so in its answer. */
static int
open_backend (struct image_request *ir, const struct images_route *route)
{
  struct request *req = ir->req;
  bool may_write = ir->transfer.ops & TRANSFER_OP_WRITE;
  bool writable = route->access == IMAGES_ACCESS_WRITE
                  || (route->access == IMAGES_ACCESS_DESCRIBE && may_write);
  int status;

  ir->backend = backend_open (&ir->transfer, writable);
  /* Not a status decision: these say "not writable by us", which
   * OPTIONS reports rather than fails on. */
  if (!ir->backend && route->access == IMAGES_ACCESS_DESCRIBE && writable
      && (error_errno () == EACCES || error_errno () == EROFS
          || error_errno () == EPERM)) {
    log_warning ("OPTIONS %s: %s; reporting read-only", ir->transfer.id,
                 error_message ());
    ir->backend = backend_open (&ir->transfer, false);
  }
  if (ir->backend) {
    /* A read may wait long on a silent server; the web server closing
     * the connection meanwhile stops it (backend_watch_client). */
    if (!ir->backend->writable)
      backend_watch_client (ir->backend, req->fcgx.ipcFd);
    return 0;
  }

  log_error ("%s %s: open failed: %s", req->method, ir->transfer.id,
             error_message ());
  status = http_status_from_errno (error_errno (), HTTP_FAILURE_OPEN);
  if (status != 500)
    response_error (req, status, "%s", error_message ());
  else
    response_error (req, 500, "cannot open the image of transfer %s (see "
                    "the server log)", ir->transfer.id);
  return -1;
}

/* Open the backend the route needs, run it, close the backend. */
static void
serve_route (struct image_request *ir, const struct images_route *route)
{
  if (route->needs_backend && open_backend (ir, route) == -1)
    return;
  route->handler (ir);
  if (ir->backend) {
    /* A request that went well may leave its backend open for the next
     * one of the transfer (an NBD connection); any failure closes it. */
    if (!ir->req->failed && ir->req->status >= 200 && ir->req->status < 300)
      backend_release (ir->backend);
    else
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
  images_routes_allowed (ir->sub, read_only, allow, sizeof allow);
  response_header (req, "Allow", "%s", allow);
  response_error (req, 405, "method %s not allowed here", req->method);
}

void
images_handle (struct request *req, const struct config *cfg)
{
  struct image_request ir = { .req = req, .cfg = cfg, .sub = "" };
  const char *rest = req->path + strlen ("/images");
  const struct images_route *route;
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
      images_routes_options_any (req, cfg);
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

  route = images_routes_find (ir.sub, req->method, &sub_known);
  if (!route) {
    if (sub_known && *ir.sub && strcmp (req->method, "OPTIONS") == 0)
      images_routes_options_sub (req, ir.sub);
    else if (!sub_known)
      response_error (req, 404, "no such resource: %s", req->path);
    else
      method_not_allowed (&ir, id);
    return;
  }

  image_request_parse_ranges (&ir);
  if (route->access != IMAGES_ACCESS_NONE) {
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
                         req->method, image_request_start_offset (&ir));
  else
    stats_request_begin (NULL, NULL, req->method, 0);
  if (!loaded
      || (admit (&ir, route) == 0 && claim_place (&ir, route) == 0))
    serve_route (&ir, route);
  /* A response cut short after its headers is a failure, whatever the
   * status line said. */
  stats_request_end (req->failed ? 0 : req->status);

out:
  log_access (&ir, id);
  if (loaded)
    transfer_free (&ir.transfer);
}
