/* SPDX-License-Identifier: Apache-2.0 */
/* The shared table's transfer entries (stats-entry.c): finding and
 * claiming them, and the management updates of a transfer's entry.
 */
#ifndef IMAGEXFER_STATS_ENTRY_H
#define IMAGEXFER_STATS_ENTRY_H

#include <stdbool.h>

struct stats_entry;

/* Management: the API and imagexferctl.
 *
 * stats_transfer_cancelled: the transfer's spool file was removed
 * (DELETE, imagexferctl cancel, or a request noticing it mid-way).
 * Marks the entry so status can say "cancelled" after the file is gone,
 * and records the event once.
 *
 * stats_transfer_installed: spool_install put a descriptor in place.  A
 * new transfer starts with zeroed counters and marks; a replaced one is
 * the same transfer updated (ImageIO's ticket extend): its counters
 * carry on, its "cancelled" and "expired" marks are cleared. */
void stats_transfer_cancelled (const char *transfer_id);
void stats_transfer_installed (const char *transfer_id, bool replaced);
/* True the first time it is called for an entry (so "expired" is
 * recorded once per transfer), and always when there is no table. */
bool stats_transfer_note_expired (const char *transfer_id);

/* Inside the shared state's modules (the entry's layout is in
 * stats-map.h).
 *
 * Find the entry for id by its hash chain; with create (and a writable
 * table) make it when absent, *created then true.  NULL when absent or
 * when the table is full. */
struct stats_entry *stats_entry_find (const char *id, bool create,
                                      bool *created);
/* The per-transfer caps: count one more request of role (a reader or
 * a writer) in flight on e, unless that makes more than max of its
 * role or more than max_total of both; then nothing is counted and the
 * answer is false.  stats_entry_unclaim gives one back (never below
 * zero: a worker killed half-way through a claim may be given back
 * once too often, which loosens the cap by one, never tightens it). */
bool stats_entry_claim (struct stats_entry *e, unsigned role, unsigned max,
                        unsigned max_total);
void stats_entry_unclaim (struct stats_entry *e, unsigned role);

/* Start the entry's counters and marks afresh (not in_flight, which
 * counts live requests). */
void stats_entry_reset (struct stats_entry *e);

#endif
