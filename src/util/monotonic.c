/* SPDX-License-Identifier: Apache-2.0 */
/* Milliseconds on CLOCK_MONOTONIC; see monotonic.h. */
#include <config.h>

#include "monotonic.h"

int64_t
monotonic_ms (void)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t
monotonic_ms_between (const struct timespec *earlier,
                      const struct timespec *later)
{
  return (int64_t) (later->tv_sec - earlier->tv_sec) * 1000
         + (later->tv_nsec - earlier->tv_nsec) / 1000000;
}

bool
monotonic_due (struct timespec *last, int64_t interval_ms)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  if ((last->tv_sec != 0 || last->tv_nsec != 0)
      && monotonic_ms_between (last, &now) < interval_ms)
    return false;
  *last = now;
  return true;
}
