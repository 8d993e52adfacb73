/* SPDX-License-Identifier: Apache-2.0 */
/* Transfer descriptors, in any of the three dialects and mixed
 * (src/transfer/): transfer_parse on any text, as transfer_load calls it
 * on a spool file.  A descriptor it accepts must write back
 * (transfer_to_json, what /api and imagexferctl show) as a canonical
 * descriptor that parses again to the same JSON. */
#include <config.h>

#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "transfer.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  log_set_level (LOG_LEVEL_ERROR);
  return 0;
}

/* The canonical JSON of t, or NULL when out of memory. */
static char *
canonical_text (const struct transfer *t)
{
  json_object *obj = transfer_to_json (t);
  char *text = NULL;

  if (obj) {
    const char *s = json_object_to_json_string_ext (obj, JSON_C_TO_STRING_PLAIN);

    if (s)
      text = strdup (s);
    json_object_put (obj);
  }
  return text;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct transfer t, again;
  char *first, *second;

  if (transfer_parse ("fuzz", (const char *) data, size, &t) == -1)
    return 0;
  first = canonical_text (&t);
  transfer_free (&t);
  if (first == NULL)
    return 0;
  if (transfer_parse ("fuzz", first, strlen (first), &again) == -1) {
    fprintf (stderr, "canonical form refused: %s\n", first);
    FUZZ_ASSERT (!"the canonical form of an accepted descriptor parses");
  }
  second = canonical_text (&again);
  transfer_free (&again);
  if (second && strcmp (first, second) != 0) {
    fprintf (stderr, "canonical forms differ:\n  %s\n  %s\n", first, second);
    FUZZ_ASSERT (!"the canonical form parses to itself");
  }
  free (second);
  free (first);
  return 0;
}
