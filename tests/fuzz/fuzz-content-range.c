/* SPDX-License-Identifier: Apache-2.0 */
/* The Content-Range header of PUT (src/util/range.c):
 * content_range_parse on any value.  What it accepts must be a range
 * with first <= last, inside the total when both are given. */
#include <config.h>

#include "fuzz.h"
#include "range.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *value = fuzz_string (data, size);
  struct content_range cr;

  if (value == NULL)
    return 0;
  if (content_range_parse (value, &cr) == 0) {
    uint64_t length;

    if (cr.has_last) {
      FUZZ_ASSERT (cr.first <= cr.last);
      (void) range_inclusive_length (cr.first, cr.last, &length);
    }
    if (cr.has_last && cr.has_total)
      FUZZ_ASSERT (cr.last < cr.total);
  }
  free (value);
  return 0;
}
