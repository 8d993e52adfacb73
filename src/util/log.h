/* SPDX-License-Identifier: Apache-2.0 */
/* One logger with levels.  Lines go to stderr, which the web server (or
 * systemd) collects, or to log_file; every line should name the
 * operation and the transfer id it concerns.  When stderr is the
 * journal, lines carry its priority prefix ("<3>" error ... "<7>"
 * debug) and no time stamp of their own.
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

/* Log to the file at path (created 0640, appended to) instead of
 * stderr; NULL goes back to the stderr inherited at start.  -1 with
 * error_set when it cannot be opened (nothing changes then). */
int log_use_file (const char *path);
/* Open the log file again (logrotate moved it); a failure is logged
 * and the old file kept. */
void log_reopen (void);
/* For a process that keeps sig blocked while it works: a log line first
 * takes a pending sig and reopens (looking at most every 100 ms), so a
 * long request still follows a rotation. */
void log_reopen_on_pending (int sig);
void log_output_check_pending (void);
bool log_output_is_journal (void);

#define log_error(...) log_msg (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg (LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg (LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
