/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Range and Content-Range header values (bytes unit only). */
#ifndef IMAGEXFER_RANGE_H
#define IMAGEXFER_RANGE_H

#include <stdbool.h>
#include <stdint.h>

/* A resolved, non-empty byte range inside [0, size). */
struct byte_range {
  uint64_t start;
  uint64_t length;
};

/* "bytes=A-B", "bytes=A-" or the suffix form "bytes=-N", as written. */
struct range_spec {
  bool has_first;     /* false only for the suffix form */
  uint64_t first;
  bool has_last;      /* false for "A-" */
  uint64_t last;      /* inclusive end, or the suffix length N */
};

enum range_result {
  RANGE_OK,
  RANGE_INVALID,        /* syntax error: 400 */
  RANGE_MULTIPLE,       /* "bytes=0-1,5-6": 416 (we serve one range) */
  RANGE_UNSATISFIABLE,  /* outside [0, size) or empty resource: 416 */
};

/* Parse a Range header value into spec.  Whitespace around tokens is
 * allowed; numbers are decimal without sign and must fit uint64_t;
 * A > B is RANGE_INVALID; "bytes=-0" is RANGE_UNSATISFIABLE. */
enum range_result range_spec_parse (const char *value, struct range_spec *spec);

/* Resolve spec against a resource of size bytes: B past the end is
 * clipped, a suffix longer than size means the whole resource, first >=
 * size (or size == 0) is RANGE_UNSATISFIABLE. */
enum range_result range_resolve (const struct range_spec *spec, uint64_t size,
                                 struct byte_range *out);

/* The length of [first, last] (first <= last); false when it does not
 * fit in uint64_t ("bytes=0-18446744073709551615"). */
static inline bool
range_inclusive_length (uint64_t first, uint64_t last, uint64_t *length)
{
  if (last - first == UINT64_MAX)
    return false;
  *length = last - first + 1;
  return true;
}

/* A Content-Range header value on PUT: "bytes A-B/TOTAL" where B and
 * TOTAL may each be a star, in which case only the start is known. */
struct content_range {
  uint64_t first;
  bool has_last;
  uint64_t last;       /* inclusive */
  bool has_total;
  uint64_t total;
};

/* Returns 0, or -1 (syntax error, A > B, or B >= TOTAL when both given). */
int content_range_parse (const char *value, struct content_range *cr);

#endif
