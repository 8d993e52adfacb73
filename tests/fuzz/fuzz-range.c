/* SPDX-License-Identifier: Apache-2.0 */
/* The Range header of GET and PATCH (src/util/range.c): range_spec_parse
 * on any value, then range_resolve against sizes around the edges.  A
 * resolved range must be non-empty and lie inside the resource. */
#include <config.h>

#include "fuzz.h"
#include "range.h"

static const uint64_t sizes[] = {
  0, 1, 2, 511, 4096, UINT64_C (1) << 32, INT64_MAX, UINT64_MAX - 1,
  UINT64_MAX,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *value = fuzz_string (data, size);
  struct range_spec spec;
  struct byte_range out;

  if (value == NULL)
    return 0;
  if (range_spec_parse (value, &spec) == RANGE_OK) {
    FUZZ_ASSERT (!spec.has_first || !spec.has_last
                 || spec.first <= spec.last);
    FUZZ_ASSERT (spec.has_first || spec.has_last);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      if (range_resolve (&spec, sizes[i], &out) != RANGE_OK)
        continue;
      FUZZ_ASSERT (out.length > 0);
      FUZZ_ASSERT (out.start < sizes[i]);
      FUZZ_ASSERT (out.length <= sizes[i] - out.start);
    }
  }
  free (value);
  return 0;
}
