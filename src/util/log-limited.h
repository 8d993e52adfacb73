/* SPDX-License-Identifier: Apache-2.0 */
/* Warnings a peer or a broken file can cause once per request: at most
 * one per period is written, and the ones left out are counted and the
 * count shown with the next, so the log says it happened without
 * filling up with a line per request. */
#ifndef IMAGEXFER_LOG_LIMITED_H
#define IMAGEXFER_LOG_LIMITED_H

#include <time.h>

struct log_limit {
  int seconds;                  /* at most one line per this many */
  struct timespec last;         /* the last line written */
  unsigned suppressed;          /* left out since */
};

#define LOG_LIMIT_INIT(period) { .seconds = (period) }

void log_warning_limited (struct log_limit *limit, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#endif
