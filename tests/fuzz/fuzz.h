/* SPDX-License-Identifier: Apache-2.0 */
/* What every libFuzzer harness of tests/fuzz shares.  A harness feeds
 * its input to one parser of the product, as the product calls it, and
 * checks what the parser promises; a broken promise aborts, which
 * libFuzzer reports as a crash with the input that caused it. */
#ifndef IMAGEXFER_FUZZ_H
#define IMAGEXFER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* Optional: set-up before the first input. */
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* A promise of the parser that the input broke. */
#define FUZZ_ASSERT(cond)                                                 \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf (stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, \
               #cond);                                                    \
      abort ();                                                           \
    }                                                                     \
  } while (0)

/* The input as a C string, as the parsers get header values and lines:
 * a copy with a NUL at the end (inputs with NUL bytes inside are cut
 * there, as a C string would be).  NULL when out of memory. */
static inline char *
fuzz_string (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s) {
    for (size_t i = 0; i < size; i++)
      s[i] = (char) data[i];
    s[size] = '\0';
  }
  return s;
}

#endif
