/* SPDX-License-Identifier: Apache-2.0 */
/* The last error of this process: an errno and a one-line message.
 *
 * Functions that fail return -1 (or NULL) after calling error_set once,
 * at the place that knows what went wrong.  Callers up the stack only
 * decide what to do with it; fcgi/ turns the errno into an HTTP status in
 * exactly one place.  A worker serves one request at a time, so one slot
 * per thread is enough.
 */
#ifndef IMAGEXFER_ERROR_H
#define IMAGEXFER_ERROR_H

/* Record errnum and the formatted message; also sets errno = errnum. */
void error_set (int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

int error_errno (void);
const char *error_message (void);
void error_clear (void);

#endif
