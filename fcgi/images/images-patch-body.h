/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON body of PATCH /images/<id> (API.md): {"op": "zero", "offset",
 * "size", "flush"} or {"op": "flush"}.  Parsed apart from the request so
 * that the parser is a pure function of the bytes (tests/fuzz). */
#ifndef IMAGEXFER_IMAGES_PATCH_BODY_H
#define IMAGEXFER_IMAGES_PATCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Larger bodies are refused before they are read (413). */
#define PATCH_BODY_MAX (64 * 1024)

enum patch_op {
  PATCH_OP_ZERO,
  PATCH_OP_FLUSH,
};

struct patch_body {
  enum patch_op op;
  uint64_t offset;      /* zero: default 0 */
  uint64_t size;        /* zero: required */
  bool flush;           /* zero: flush after; default false */
};

/* Parse text[0..length) (not NUL-terminated, at most PATCH_BODY_MAX
 * bytes): exactly one JSON object, nothing after it.  Returns 0, or -1
 * with error_set (EINVAL, "<reason for the client>"). */
int patch_body_parse (const char *text, size_t length,
                      struct patch_body *body);

#endif
