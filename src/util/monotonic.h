/* SPDX-License-Identifier: Apache-2.0 */
/* Time between events on CLOCK_MONOTONIC, in milliseconds: deadlines,
 * idle times, and checks that cost a system call and are worth making
 * only once in a while.  clock_gettime on it is answered in user space
 * (the vDSO), so asking is cheap where the checks it spares are not. */
#ifndef IMAGEXFER_MONOTONIC_H
#define IMAGEXFER_MONOTONIC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Now, in milliseconds since an arbitrary point. */
int64_t monotonic_ms (void);

/* Milliseconds from earlier to later. */
int64_t monotonic_ms_between (const struct timespec *earlier,
                              const struct timespec *later);

/* Whether interval_ms have passed since *last; if so, *last becomes now.
 * A zero *last is long past. */
bool monotonic_due (struct timespec *last, int64_t interval_ms);

#endif
