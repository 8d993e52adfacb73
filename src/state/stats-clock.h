/* SPDX-License-Identifier: Apache-2.0 */
/* The shared state's clock: wall-clock time, the same in every process
 * that maps the table. */
#ifndef IMAGEXFER_STATS_CLOCK_H
#define IMAGEXFER_STATS_CLOCK_H

#include <stdint.h>

/* Nanoseconds since the epoch (CLOCK_REALTIME), like st_mtim. */
int64_t stats_now_ns (void);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t stats_now_ms (void);

#endif
