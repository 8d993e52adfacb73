/* SPDX-License-Identifier: Apache-2.0 */
/* The /images routes table, and what is derived from it: the Allow
 * lists and the OPTIONS answers with their features list. */
#ifndef IMAGEXFER_IMAGES_ROUTES_H
#define IMAGEXFER_IMAGES_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "config-file.h"
#include "images-request.h"

/* What a route needs from the transfer, and so how the backend opens:
 * reading routes open read-only (the image may be read-only to us),
 * writing routes read-write, and OPTIONS as the transfer allows, since
 * it reports whether writes would work. */
enum images_access {
  IMAGES_ACCESS_NONE,
  IMAGES_ACCESS_READ,
  IMAGES_ACCESS_WRITE,
  IMAGES_ACCESS_DESCRIBE,
};

/* One row per resource and method: what it needs and who serves it. */
struct images_route {
  const char *sub;
  const char *method;
  enum images_access access;
  bool needs_backend;
  /* The feature OPTIONS lists where this route is allowed, or NULL. */
  const char *feature;
  void (*handler) (struct image_request *ir);
};

/* The route of sub and method, or NULL; *sub_known tells whether any
 * method is served there. */
const struct images_route *images_routes_find (const char *sub,
                                               const char *method,
                                               bool *sub_known);

/* The Allow value for a sub-resource (without the writing methods for a
 * read-only transfer). */
void images_routes_allowed (const char *sub, bool read_only, char *buf,
                            size_t size);

/* OPTIONS /images/<*>: every feature, no transfer check. */
void images_routes_options_any (struct request *req,
                                const struct config *cfg);

/* OPTIONS on a sub-resource (/extents, /flush, /checksum...): what a
 * browser's CORS preflight asks before the real request.  No transfer
 * check, as for OPTIONS /images/<*>. */
void images_routes_options_sub (struct request *req, const char *sub);

#endif
