/* SPDX-License-Identifier: Apache-2.0 */
/* CloudStack's image server control protocol (API.md section 4): one
 * JSON request in, one JSON answer out.  The socket around it is
 * serve-cloudstack.c; here only the meaning of a request, mapped onto
 * the spool so that everything else (lifecycle, status, metrics) works
 * as for any other transfer. */
#ifndef IMAGEXFER_CLOUDSTACK_CONTROL_H
#define IMAGEXFER_CLOUDSTACK_CONTROL_H

#include <stddef.h>

#include "config-file.h"

/* The longest request line taken: a config is a few hundred bytes. */
#define CLOUDSTACK_LINE_MAX (64 * 1024)

/* Answer one request (len bytes, the newline excluded): register writes
 * <id>.json atomically (replacing an earlier registration), unregister
 * removes it (cancel), status counts.  Returns the answer, one line of
 * JSON without its newline, to free; NULL only when out of memory. */
char *cloudstack_answer (const struct config *cfg, const char *request,
                         size_t len);

/* The answer to a request that never arrived whole (too long, silent
 * client): {"status": "error", "message": message}. */
char *cloudstack_error (const char *message);

#endif
