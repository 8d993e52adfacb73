/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "process-id.h"

static enum log_level current_level = LOG_LEVEL_INFO;

/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int journal_priorities[] = {
  [LOG_LEVEL_ERROR] = 3,
  [LOG_LEVEL_WARNING] = 4,
  [LOG_LEVEL_INFO] = 6,
  [LOG_LEVEL_DEBUG] = 7,
};

static const char *const level_names[] = {
  [LOG_LEVEL_ERROR] = "error",
  [LOG_LEVEL_WARNING] = "warning",
  [LOG_LEVEL_INFO] = "info",
  [LOG_LEVEL_DEBUG] = "debug",
};

void
log_set_level (enum log_level level)
{
  current_level = level;
}

bool
log_enabled (enum log_level level)
{
  return level <= current_level;
}

int
log_level_parse (const char *name, enum log_level *level)
{
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
    if (strcmp (name, level_names[i]) == 0) {
      *level = (enum log_level) i;
      return 0;
    }
  }
  return -1;
}

/* Copy message to out (size bytes, always terminated) with control
 * characters as \xNN: messages quote what clients sent (paths, headers,
 * addresses), and a newline there could forge a line of its own, or a
 * journal priority at its start ("<0>"). */
static void
escape_controls (char *out, size_t size, const char *message)
{
  size_t j = 0;

  for (const unsigned char *p = (const unsigned char *) message;
       *p && j + 1 < size; p++) {
    if (*p >= 0x20 && *p != 0x7f)
      out[j++] = (char) *p;
    else if (j + 4 < size)
      j += (size_t) snprintf (out + j, size - j, "\\x%02x", *p);
    else
      break;
  }
  out[j] = '\0';
}

void
log_msg (enum log_level level, const char *fmt, ...)
{
  char line[1024];
  char message[1024];
  char stamp[32];
  struct timespec now;
  struct tm tm;
  va_list args;
  int n;

  if (!log_enabled (level))
    return;

  log_output_check_pending ();
  if (log_output_is_journal ())
    /* The journal stamps each line itself. */
    n = snprintf (line, sizeof line, "<%d>imagexfer[%d] %s: ",
                  journal_priorities[level], (int) process_id (),
                  level_names[level]);
  else {
    clock_gettime (CLOCK_REALTIME, &now);
    gmtime_r (&now.tv_sec, &tm);
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf (line, sizeof line, "%s.%03ldZ imagexfer[%d] %s: ", stamp,
                  now.tv_nsec / 1000000, (int) process_id (), level_names[level]);
  }
  va_start (args, fmt);
  vsnprintf (message, sizeof message, fmt, args);
  va_end (args);
  escape_controls (line + n, sizeof line - (size_t) n, message);

  /* One write per line keeps lines of concurrent workers whole. */
  n = (int) strlen (line);
  if (n < (int) sizeof line - 1)
    line[n++] = '\n';
  else
    line[sizeof line - 2] = '\n', n = (int) sizeof line - 1;
  if (write (STDERR_FILENO, line, (size_t) n) < 0) {
    /* Nowhere left to report it. */
  }
}
