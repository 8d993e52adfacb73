/* SPDX-License-Identifier: Apache-2.0 */
/* What libfcgi has already read of a request's STDIN.
 *
 * FCGX_Accept_r reads the parameters through an 8 KiB buffer, so the
 * first STDIN records (often the whole body of a small request, and
 * always the end record of a GET) may already sit in it when the request
 * is handed to us.  Reading the body ourselves (fastcgi-stdin.h) must
 * start with those bytes. */
#ifndef IMAGEXFER_LIBFCGI_BUFFERED_H
#define IMAGEXFER_LIBFCGI_BUFFERED_H

#include <stddef.h>

#include <fcgiapp.h>

/* Right after FCGX_Accept_r: the bytes libfcgi read from the connection
 * past the parameters, starting at a record boundary.  Returns 0, or -1
 * when the stream is not in the state this libfcgi is known to leave it
 * in (then only libfcgi's own calls may read the body). */
int libfcgi_buffered_stdin (FCGX_Request *fcgx, const unsigned char **bytes,
                            size_t *length);

#endif
