/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-decoding of request paths (src/util/text-parse.c).  A decoded
 * string has no NUL inside it (%00 is refused), is never longer than
 * its text, and percent_encode of it decodes back to the same bytes. */
#include <config.h>

#include <string.h>

#include "fuzz.h"
#include "text-parse.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *decoded = percent_decode ((const char *) data, size);
  char *encoded, *again;
  size_t length;

  if (decoded == NULL)
    return 0;
  length = strlen (decoded);
  FUZZ_ASSERT (length <= size);
  encoded = percent_encode (decoded);
  if (encoded) {
    again = percent_decode (encoded, strlen (encoded));
    FUZZ_ASSERT (again != NULL);
    FUZZ_ASSERT (strcmp (again, decoded) == 0);
    free (again);
    free (encoded);
  }
  free (decoded);
  return 0;
}
