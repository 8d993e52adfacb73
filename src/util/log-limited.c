/* SPDX-License-Identifier: Apache-2.0 */
/* Rate-limited warnings; see log-limited.h. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "log-limited.h"
#include "monotonic.h"

void
log_warning_limited (struct log_limit *limit, const char *fmt, ...)
{
  char message[512];
  va_list args;

  if (!monotonic_due (&limit->last, limit->seconds * 1000)) {
    limit->suppressed++;
    return;
  }
  va_start (args, fmt);
  vsnprintf (message, sizeof message, fmt, args);
  va_end (args);
  if (limit->suppressed)
    log_warning ("%s (%u similar warnings since the last one not shown)",
                 message, limit->suppressed);
  else
    log_warning ("%s", message);
  limit->suppressed = 0;
}
