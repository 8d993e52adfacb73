/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal TAP producer for the C unit tests: make check's TAP driver
 * counts every "ok"/"not ok" line, so each table row is one test. */
#ifndef IMAGEXFER_TAP_H
#define IMAGEXFER_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_count;

__attribute__ ((format (printf, 2, 3))) static inline void
tap_ok (bool pass, const char *fmt, ...)
{
  va_list args;

  tap_count++;
  printf ("%s %d - ", pass ? "ok" : "not ok", tap_count);
  va_start (args, fmt);
  vprintf (fmt, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

/* A case that cannot run here: counted as passed, with the reason. */
static inline void
tap_skip (const char *what, const char *why)
{
  tap_count++;
  printf ("ok %d - %s # SKIP %s\n", tap_count, what, why);
  fflush (stdout);
}

/* Print the plan and return the exit status for main: 0, for each failed
 * case already says "not ok", and the TAP driver would count a non-zero
 * status as one more failure.  A test that crashes still fails: it ends
 * without its plan, by a signal. */
static inline int
tap_done (void)
{
  printf ("1..%d\n", tap_count);
  return 0;
}

#endif
