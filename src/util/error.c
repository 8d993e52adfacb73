/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

/* Per thread: a request's backend thread (fcgi/pipeline.c) records its
 * own errors and hands them over explicitly. */
static __thread int last_errno;
static __thread char last_message[512];

void
error_set (int errnum, const char *fmt, ...)
{
  va_list args;

  va_start (args, fmt);
  vsnprintf (last_message, sizeof last_message, fmt, args);
  va_end (args);
  last_errno = errnum;
  errno = errnum;
}

int
error_errno (void)
{
  return last_errno;
}

const char *
error_message (void)
{
  return last_message[0] ? last_message : "unknown error";
}

void
error_clear (void)
{
  last_errno = 0;
  last_message[0] = '\0';
}
