/* SPDX-License-Identifier: Apache-2.0 */
/* A truncated state file must not kill the processes mapping it: a
 * touch of a page past the new end of a MAP_SHARED mapping is SIGBUS.
 * The guard catches SIGBUS inside the guarded mapping only, puts
 * anonymous zero pages in its place (the faulting access then retries
 * and succeeds, on memory nobody else sees) and notes it; the process
 * maps the file again between requests (stats_map_check).  SIGBUS
 * anywhere else keeps its default action.  Private to the shared
 * state's modules.
 */
#ifndef IMAGEXFER_STATS_SIGBUS_H
#define IMAGEXFER_STATS_SIGBUS_H

#include <stdbool.h>
#include <stddef.h>

/* Guard [addr, addr + size) from now on (installs the handler once);
 * NULL stops guarding.  The hit mark is cleared. */
void stats_sigbus_guard (void *addr, size_t size);
/* Whether a SIGBUS in the guarded mapping was caught since it was
 * guarded. */
bool stats_sigbus_hit (void);

#endif
