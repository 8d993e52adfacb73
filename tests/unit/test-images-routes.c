/* SPDX-License-Identifier: Apache-2.0 */
/* The /images routes table (fcgi/images/images-routes.c): lookups, and the
 * Allow lists derived from it, exactly as clients see them. */
#include <config.h>

#include <string.h>

#include "images-routes.h"
#include "tap.h"

static const struct {
  const char *sub, *method;
  bool found, sub_known;
  enum images_access access;
} find_tests[] = {
  { "", "GET", true, true, IMAGES_ACCESS_READ },
  { "", "HEAD", true, true, IMAGES_ACCESS_READ },
  { "", "OPTIONS", true, true, IMAGES_ACCESS_DESCRIBE },
  { "", "PUT", true, true, IMAGES_ACCESS_WRITE },
  { "", "PATCH", true, true, IMAGES_ACCESS_WRITE },
  { "", "POST", false, true, 0 },
  { "", "DELETE", false, true, 0 },
  { "", "get", false, true, 0 },
  { "flush", "POST", true, true, IMAGES_ACCESS_WRITE },
  { "flush", "GET", false, true, 0 },
  { "extents", "GET", true, true, IMAGES_ACCESS_READ },
  { "checksum", "GET", true, true, IMAGES_ACCESS_READ },
  { "checksum/algorithms", "GET", true, true, IMAGES_ACCESS_NONE },
  { "checksum/", "GET", false, false, 0 },
  { "nothing", "GET", false, false, 0 },
};

static const struct {
  const char *sub;
  bool read_only;
  const char *allow;
} allow_tests[] = {
  { "", false, "OPTIONS, GET, HEAD, PUT, PATCH" },
  { "", true, "OPTIONS, GET, HEAD" },
  { "flush", false, "OPTIONS, POST" },
  { "flush", true, "OPTIONS" },
  { "extents", false, "OPTIONS, GET" },
  { "extents", true, "OPTIONS, GET" },
  { "checksum", false, "OPTIONS, GET" },
  { "checksum/algorithms", true, "OPTIONS, GET" },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof find_tests / sizeof find_tests[0]; i++) {
    bool sub_known = !find_tests[i].sub_known;
    const struct images_route *r =
      images_routes_find (find_tests[i].sub, find_tests[i].method,
                          &sub_known);

    tap_ok ((r != NULL) == find_tests[i].found
            && sub_known == find_tests[i].sub_known
            && (!r || (r->access == find_tests[i].access
                       && r->handler != NULL
                       && strcmp (r->method, find_tests[i].method) == 0)),
            "find %s \"%s\": %s, sub %s", find_tests[i].method,
            find_tests[i].sub, r ? "found" : "none",
            sub_known ? "known" : "unknown");
  }
  for (size_t i = 0; i < sizeof allow_tests / sizeof allow_tests[0]; i++) {
    char allow[128];

    images_routes_allowed (allow_tests[i].sub, allow_tests[i].read_only,
                           allow, sizeof allow);
    tap_ok (strcmp (allow, allow_tests[i].allow) == 0,
            "Allow of \"%s\"%s: \"%s\" (want \"%s\")", allow_tests[i].sub,
            allow_tests[i].read_only ? " read-only" : "", allow,
            allow_tests[i].allow);
  }
  return tap_done ();
}
