/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend's extents: the remote's own /extents list (both
 * contexts), fetched once per request and context and handed out in the
 * steps backend.c asks for.  The answer is held in memory, so its JSON
 * is bounded (HTTP_EXTENTS_MAX, some 200,000 extents); a longer one
 * fails the request. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

/* The list, one object at a time: memory is the text and the extents,
 * not a JSON tree of the whole list.  An extent object holds no nested
 * object nor brace in a string, so each runs from '{' to the next '}'. */
static int
parse_list (const char *text, enum extents_context context,
            struct extent_list *list)
{
  const char *p = text + strspn (text, " \t\r\n");
  const char *end = p + strlen (p);

  while (end > p && strchr (" \t\r\n", end[-1]))
    end--;
  if (*p != '[' || end[-1] != ']') {
    error_set (EREMOTEIO, "not a JSON list");
    return -1;
  }
  while ((p = memchr (p, '{', (size_t) (end - p))) != NULL) {
    const char *close = memchr (p, '}', (size_t) (end - p));
    json_tokener *tok = json_tokener_new ();
    json_object *item;
    int r = -1;

    if (close == NULL || tok == NULL) {
      json_tokener_free (tok);
      error_set (EREMOTEIO, "a malformed extent");
      return -1;
    }
    item = json_tokener_parse_ex (tok, p, (int) (close - p + 1));
    if (item == NULL || !json_object_is_type (item, json_type_object))
      error_set (EREMOTEIO, "a malformed extent");
    else
      r = append_item (item, context, list);
    json_object_put (item);
    json_tokener_free (tok);
    if (r == -1)
      return -1;
    p = close + 1;
  }
  return 0;
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
  int r = http_exchange_run (hb, &x, "extents", HTTP_NO_OFFSET);

  extent_list_clear (list);
  if (r == 0 && parse_list (x.text ? x.text : "", context, list) == -1) {
    char why[256];

    /* Copied: error_set must not read the buffer it writes. */
    snprintf (why, sizeof why, "%s", error_message ());
    error_set (EREMOTEIO, "extents: remote %s: %s", hb->label, why);
    r = -1;
  }
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
