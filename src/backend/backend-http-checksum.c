/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend's checksum: a remote speaking the /images API
 * computes the block hash of its own image, next to the data, so the
 * image does not cross the network.  Used when the remote offers
 * "checksum", our transfer is the remote's whole image (no smaller
 * "size" here), and it answers with the same algorithm and block size;
 * otherwise (an older remote, a plain web server, another answer) the
 * checksum is computed here by reading. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "backend-http.h"
#include "checksum.h"
#include "error.h"
#include "log.h"

static bool
hex_digest_valid (const char *s)
{
  return strlen (s) == CHECKSUM_HEX_SIZE - 1
         && strspn (s, "0123456789abcdef") == CHECKSUM_HEX_SIZE - 1;
}

/* 1 when the remote's answer is our checksum (copied to hex_out). */
static int
answer_matches (const struct http_exchange *x, const char *algorithm,
                uint64_t block_size, char *hex_out)
{
  json_object *obj = x->text ? json_tokener_parse (x->text) : NULL;
  json_object *a, *bs, *sum;
  int r = 0;

  if (obj && json_object_object_get_ex (obj, "algorithm", &a)
      && json_object_object_get_ex (obj, "block_size", &bs)
      && json_object_object_get_ex (obj, "checksum", &sum)
      && json_object_is_type (a, json_type_string)
      && json_object_is_type (bs, json_type_int)
      && json_object_is_type (sum, json_type_string)
      && strcmp (json_object_get_string (a), algorithm) == 0
      && (uint64_t) json_object_get_int64 (bs) == block_size
      && hex_digest_valid (json_object_get_string (sum))) {
    snprintf (hex_out, CHECKSUM_HEX_SIZE, "%s", json_object_get_string (sum));
    r = 1;
  }
  json_object_put (obj);
  return r;
}

int
http_backend_checksum (struct backend *b, const char *algorithm,
                       uint64_t block_size, char *hex_out)
{
  struct http_backend *hb = to_http (b);
  char query[128];
  struct http_exchange x = {
    .method = "GET", .resource = "/checksum", .query = query,
    .sink = HTTP_SINK_TEXT,
  };
  int r = 0;

  snprintf (query, sizeof query, "algorithm=%s&block_size=%" PRIu64,
            algorithm, block_size);
  if (hb->remote.images_api && hb->remote.can_checksum
      && b->size == b->own_size) {
    if (http_exchange_run (hb, &x, "checksum", HTTP_NO_OFFSET) == 0)
      r = answer_matches (&x, algorithm, block_size, hex_out);
    else if (error_errno () == ECANCELED)
      r = -1;                   /* our transfer was cancelled meanwhile */
  }
  if (r == 0)
    log_debug ("checksum %s: no %s from remote %s: computing it here",
               hb->id, query, hb->label);
  http_exchange_free (&x);
  return r;
}
