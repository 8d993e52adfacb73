/* SPDX-License-Identifier: Apache-2.0 */
/* The shared state's clock (stats-clock.h). */
#include <config.h>

#include <time.h>

#include "stats-clock.h"

int64_t
stats_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
stats_now_ms (void)
{
  return stats_now_ns () / 1000000;
}
