/* SPDX-License-Identifier: Apache-2.0 */
/* GET /images/<id>/checksum and /images/<id>/checksum/algorithms
 * (API.md section 2).  The hash itself is src/checksum.c. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "cleanup.h"
#include "error.h"
#include "images-handlers.h"
#include "log.h"
#include "text-parse.h"

/* Query values are short words and numbers; longer ones are invalid
 * anyway (request_query cuts them and marks the cut). */
#define QUERY_VALUE_MAX 64

/* Between blocks.  The hashed bytes never reach the client: nothing to
 * count, only the check. */
static bool
checksum_cancelled (void *opaque)
{
  return image_request_chunk_done (opaque, 0, IMAGE_CHUNK_READ) == -1;
}

void
images_checksum (struct image_request *ir)
{
  char algorithm_buf[QUERY_VALUE_MAX], block_size_buf[QUERY_VALUE_MAX];
  const char *algorithm, *block_size_text;
  uint64_t block_size = CHECKSUM_DEFAULT_BLOCK_SIZE;
  char hex[CHECKSUM_HEX_SIZE];
  CLEANUP_JSON_PUT json_object *body = NULL;

  algorithm = request_query (ir->req, "algorithm", algorithm_buf,
                             sizeof algorithm_buf);
  if (algorithm == NULL)
    algorithm = CHECKSUM_DEFAULT_ALGORITHM;
  if (!checksum_algorithm_valid (algorithm)) {
    response_error (ir->req, 400, "unknown checksum algorithm \"%s\"",
                    algorithm);
    return;
  }

  block_size_text = request_query (ir->req, "block_size", block_size_buf,
                                   sizeof block_size_buf);
  if (block_size_text != NULL
      && (!parse_decimal (block_size_text, &block_size)
          || !checksum_block_size_valid (block_size))) {
    response_error (ir->req, 400, "invalid block_size \"%s\": %" PRIu64
                    "-%" PRIu64 " bytes, a multiple of %d", block_size_text,
                    CHECKSUM_MIN_BLOCK_SIZE, CHECKSUM_MAX_BLOCK_SIZE,
                    CHECKSUM_BLOCK_ALIGNMENT);
    return;
  }

  if (checksum_compute (ir->backend, algorithm, block_size, hex,
                                    checksum_cancelled, ir) == -1) {
    image_request_fail (ir, "checksum");
    return;
  }

  body = json_object_new_object ();
  if (body == NULL
      || json_object_object_add (body, "algorithm",
                                 json_object_new_string (algorithm)) != 0
      || json_object_object_add (body, "block_size",
                                 json_object_new_int64 ((int64_t) block_size))
         != 0
      || json_object_object_add (body, "checksum",
                                 json_object_new_string (hex)) != 0) {
    error_set (ENOMEM, "checksum: cannot build the response");
    image_request_fail (ir, "checksum");
    return;
  }
  log_debug ("checksum: transfer %s: %s block_size %" PRIu64 ": %s",
             ir->transfer.id, algorithm, block_size, hex);
  response_json (ir->req, 200, body);
}

void
images_checksum_algorithms (struct image_request *ir)
{
  CLEANUP_JSON_PUT json_object *body = json_object_new_object ();
  json_object *list = json_object_new_array ();
  size_t i;

  if (body == NULL || list == NULL
      || json_object_object_add (body, "algorithms", list) != 0) {
    json_object_put (list);
    error_set (ENOMEM, "checksum algorithms: cannot build the response");
    image_request_fail (ir, "checksum");
    return;
  }
  for (i = 0; checksum_algorithms[i] != NULL; i++) {
    if (json_object_array_add (list,
                               json_object_new_string (checksum_algorithms[i]))
        != 0) {
      error_set (ENOMEM, "checksum algorithms: cannot build the response");
      image_request_fail (ir, "checksum");
      return;
    }
  }
  response_json (ir->req, 200, body);
}
