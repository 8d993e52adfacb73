/* SPDX-License-Identifier: Apache-2.0 */
/* "transferred": the distinct bytes of a transfer, as a bounded set of
 * merged byte ranges in its entry (stats-ranges.c).  Private to the
 * shared state's modules.
 */
#ifndef IMAGEXFER_STATS_RANGES_H
#define IMAGEXFER_STATS_RANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "stats-map.h"

/* Count [start, end) as touched. */
void stats_ranges_add (struct stats_entry *e, uint64_t start, uint64_t end);
/* Forget every range (part of stats_entry_reset). */
void stats_ranges_clear (struct stats_entry *e);
/* Free the lock when a dead process held it (the supervisor, reaping
 * pid). */
void stats_ranges_unlock_dead (struct stats_entry *e, int32_t pid);
/* The merge itself, on a plain array (unit-tested): add [start, end) to
 * ranges[0..*n), sorted, disjoint and not touching, at most STATS_RANGES.
 * Returns false when the set was full and two neighbours were joined
 * over the gap between them (the sum is then more than the distinct
 * bytes). */
bool stats_ranges_merge (struct stats_range *ranges, uint32_t *n,
                         uint64_t start, uint64_t end);
uint64_t stats_ranges_sum (const struct stats_range *ranges, uint32_t n);

#endif
