/* SPDX-License-Identifier: Apache-2.0 */
/* One logger with levels.  Lines go to stderr, which the web server (or
 * systemd) collects; every line should name the operation and the
 * transfer id it concerns.
 */
#ifndef IMAGEXFER_LOG_H
#define IMAGEXFER_LOG_H

#include <stdbool.h>

enum log_level {
  LOG_LEVEL_ERROR,
  LOG_LEVEL_WARNING,
  LOG_LEVEL_INFO,
  LOG_LEVEL_DEBUG,
};

void log_set_level (enum log_level level);
bool log_enabled (enum log_level level);
/* "error", "warning", "info", "debug" -> level; -1 if unknown. */
int log_level_parse (const char *name, enum log_level *level);

void log_msg (enum log_level level, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#define log_error(...) log_msg (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg (LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg (LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
