/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend's extents: the remote's own /extents list (both
 * contexts), fetched once per request and context and handed out in the
 * steps backend.c asks for.  The list is held in memory, so its JSON is
 * bounded (HTTP_EXTENTS_MAX, some 200,000 extents); a longer one fails
 * the request. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "backend-http.h"
#include "error.h"

static bool
flag_of (json_object *item, const char *key)
{
  json_object *v;

  return json_object_object_get_ex (item, key, &v)
         && json_object_get_boolean (v);
}

/* One item of the remote's list: {"start", "length", and flags}. */
static int
append_item (json_object *item, enum extents_context context,
             struct extent_list *list)
{
  json_object *start, *length;
  unsigned flags = 0;

  if (!json_object_object_get_ex (item, "start", &start)
      || !json_object_object_get_ex (item, "length", &length)
      || !json_object_is_type (start, json_type_int)
      || !json_object_is_type (length, json_type_int)
      || json_object_get_int64 (start) < 0
      || json_object_get_int64 (length) < 0) {
    error_set (EREMOTEIO, "an extent without start and length");
    return -1;
  }
  if (flag_of (item, "zero"))
    flags |= EXTENT_ZERO;
  if (context == EXTENTS_CONTEXT_ZERO && flag_of (item, "hole"))
    flags |= EXTENT_HOLE;
  if (context == EXTENTS_CONTEXT_DIRTY && flag_of (item, "dirty"))
    flags |= EXTENT_DIRTY;
  return extent_list_append (list, (uint64_t) json_object_get_int64 (start),
                             (uint64_t) json_object_get_int64 (length),
                             flags);
}

static int
fetch_extents (struct http_backend *hb, enum extents_context context)
{
  struct http_exchange x = {
    .method = "GET", .sink = HTTP_SINK_TEXT, .text_max = HTTP_EXTENTS_MAX,
    .resource = context == EXTENTS_CONTEXT_DIRTY ? "/extents?context=dirty"
                                                 : "/extents?context=zero",
  };
  struct extent_list *list = &hb->extents[context];
  json_object *array = NULL;
  int r = http_exchange_run (hb, &x, "extents", HTTP_NO_OFFSET);

  extent_list_clear (list);
  if (r == 0 && (array = json_tokener_parse (x.text ? x.text : "")) != NULL
      && json_object_is_type (array, json_type_array)) {
    for (size_t i = 0; r == 0 && i < json_object_array_length (array); i++)
      r = append_item (json_object_array_get_idx (array, i), context, list);
    if (r == -1)
      error_set (EREMOTEIO, "extents: remote %s: %s", hb->label,
                 error_message ());
  }
  else if (r == 0) {
    error_set (EREMOTEIO, "extents: remote %s answered no JSON list",
               hb->label);
    r = -1;
  }
  json_object_put (array);
  http_exchange_free (&x);
  hb->has_extents[context] = r == 0;
  return r;
}

int
http_backend_extents (struct backend *b, enum extents_context context,
                      uint64_t count, uint64_t offset,
                      struct extent_list *list)
{
  struct http_backend *hb = to_http (b);
  const struct extent_list *all;
  uint64_t end = offset + count;

  if (!hb->has_extents[context] && fetch_extents (hb, context) == -1)
    return -1;
  all = &hb->extents[context];
  for (size_t i = 0; i < all->count; i++) {
    uint64_t s = all->items[i].start;
    uint64_t e = s + all->items[i].length;

    if (e <= offset || s >= end)
      continue;
    if (extent_list_append (list, s < offset ? offset : s,
                            (e > end ? end : e) - (s < offset ? offset : s),
                            all->items[i].flags) == -1)
      return -1;
  }
  return 0;
}
