/* SPDX-License-Identifier: Apache-2.0 */
/* The /images routes table and what is derived from it (Allow lists,
 * OPTIONS features), so that a new route is one new row. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "images-handlers.h"
#include "images-routes.h"

static void describe_transfer (struct image_request *ir);

/* The row order is the order of Allow and of the features list:
 * "OPTIONS, GET, HEAD, PUT, PATCH, POST" and
 * ["extents", "checksum", "zero", "flush"]. */
static const struct images_route routes[] = {
  { "", "OPTIONS", IMAGES_ACCESS_DESCRIBE, true, NULL, describe_transfer },
  { "", "GET", IMAGES_ACCESS_READ, true, NULL, images_get },
  { "", "HEAD", IMAGES_ACCESS_READ, true, NULL, images_head },
  { "extents", "GET", IMAGES_ACCESS_READ, true, "extents", images_extents },
  { "checksum", "GET", IMAGES_ACCESS_READ, true, "checksum",
    images_checksum },
  { "checksum/algorithms", "GET", IMAGES_ACCESS_NONE, false, NULL,
    images_checksum_algorithms },
  { "", "PUT", IMAGES_ACCESS_WRITE, true, NULL, images_put },
  { "", "PATCH", IMAGES_ACCESS_WRITE, true, "zero", images_patch },
  { "flush", "POST", IMAGES_ACCESS_WRITE, true, "flush", images_post_flush },
};

#define ROUTES_COUNT (sizeof routes / sizeof routes[0])

const struct images_route *
images_routes_find (const char *sub, const char *method, bool *sub_known)
{
  *sub_known = false;
  for (size_t i = 0; i < ROUTES_COUNT; i++) {
    if (strcmp (routes[i].sub, sub) != 0)
      continue;
    *sub_known = true;
    if (strcmp (routes[i].method, method) == 0)
      return &routes[i];
  }
  return NULL;
}

static bool
route_allowed (const struct images_route *route, bool read_only)
{
  return !(read_only && route->access == IMAGES_ACCESS_WRITE);
}

static void
append_method (char *buf, size_t size, const char *method)
{
  if (buf[0])
    strncat (buf, ", ", size - strlen (buf) - 1);
  strncat (buf, method, size - strlen (buf) - 1);
}

void
images_routes_allowed (const char *sub, bool read_only, char *buf,
                       size_t size)
{
  /* Sub-resources answer OPTIONS (CORS preflight) outside the table. */
  snprintf (buf, size, "%s", *sub ? "OPTIONS" : "");
  for (size_t i = 0; i < ROUTES_COUNT; i++)
    if (strcmp (routes[i].sub, sub) == 0
        && route_allowed (&routes[i], read_only))
      append_method (buf, size, routes[i].method);
}

/* The Allow value of a transfer as a whole: every method some route of
 * it allows, once each, in table order. */
static void
transfer_methods (bool read_only, char *buf, size_t size)
{
  buf[0] = '\0';
  for (size_t i = 0; i < ROUTES_COUNT; i++) {
    bool seen = false;

    if (!route_allowed (&routes[i], read_only))
      continue;
    for (size_t j = 0; j < i && !seen; j++)
      seen = route_allowed (&routes[j], read_only)
             && strcmp (routes[j].method, routes[i].method) == 0;
    if (!seen)
      append_method (buf, size, routes[i].method);
  }
}

static json_object *
features (bool read_only)
{
  json_object *list = json_object_new_array ();

  for (size_t i = 0; i < ROUTES_COUNT; i++)
    if (routes[i].feature && route_allowed (&routes[i], read_only))
      json_object_array_add (list, json_object_new_string (routes[i].feature));
  return list;
}

/* The OPTIONS answer: features, limits, and the methods in Allow and
 * Access-Control-Allow-Methods. */
static void
answer_options (struct request *req, bool read_only, int max_readers,
                int max_writers)
{
  CLEANUP_JSON_PUT json_object *body = json_object_new_object ();
  char methods[128];

  transfer_methods (read_only, methods, sizeof methods);
  json_object_object_add (body, "features", features (read_only));
  json_object_object_add (body, "max_readers",
                          json_object_new_int (max_readers));
  json_object_object_add (body, "max_writers",
                          json_object_new_int (max_writers));
  json_object_object_add (body, "unix_socket", NULL);
  response_header (req, "Allow", "%s", methods);
  response_header (req, "Access-Control-Allow-Methods", "%s", methods);
  response_json (req, 200, body);
}

void
images_routes_options_any (struct request *req, const struct config *cfg)
{
  answer_options (req, false, (int) config_max_readers (cfg),
                  (int) config_max_writers (cfg));
}

void
images_routes_options_sub (struct request *req, const char *sub)
{
  CLEANUP_JSON_PUT json_object *body = json_object_new_object ();
  char allow[128];

  images_routes_allowed (sub, false, allow, sizeof allow);
  response_header (req, "Allow", "%s", allow);
  response_header (req, "Access-Control-Allow-Methods", "%s", allow);
  response_json (req, 200, body);
}

/* OPTIONS /images/<id>: what this transfer permits, writes only when
 * both the descriptor and the image allow them. */
static void
describe_transfer (struct image_request *ir)
{
  bool writable = (ir->transfer.ops & TRANSFER_OP_WRITE)
                  && backend_can_write (ir->backend) == 1;

  answer_options (ir->req, !writable, (int) config_max_readers (ir->cfg),
                  writable ? (int) config_max_writers (ir->cfg) : 0);
}
