/* SPDX-License-Identifier: Apache-2.0 */
/* errno -> HTTP status, in exactly one place (STYLE.md). */
#ifndef IMAGEXFER_HTTP_STATUS_H
#define IMAGEXFER_HTTP_STATUS_H

/* What failed.  Most failures follow the one table; the few routes that
 * answer differently on purpose say so here, so the exceptions are read
 * in one place (http-status.c has the why of each). */
enum http_failure {
  HTTP_FAILURE_OPERATION,       /* a data operation: the table */
  HTTP_FAILURE_DESCRIPTOR,      /* loading a transfer's descriptor */
  HTTP_FAILURE_OPEN,            /* opening a transfer's backend */
  HTTP_FAILURE_SPOOL,           /* /api reading or writing the spool */
  HTTP_FAILURE_SPOOL_DELETE,    /* /api deleting a transfer's descriptor */
};

/* The table (HTTP_FAILURE_OPERATION): ENOENT/ENOTSUP 404 (ENOTSUP: no
 * such context), EACCES/EPERM/EROFS/ECANCELED 403, EINVAL/EBADMSG/EPIPE
 * 400, ERANGE 416, EMSGSIZE 413, ENOSPC/EDQUOT 507, ECONNREFUSED/
 * ECONNRESET/EAGAIN/ETIMEDOUT/EHOSTUNREACH/ENOTCONN/ESHUTDOWN 503,
 * ENOLINK 404 and EREMOTEIO 502 (a remote image: not there, failing),
 * anything else 500.
 *
 * The exceptions:
 *   HTTP_FAILURE_DESCRIPTOR: ENOENT 404 and ECANCELED 403 (the router
 *     turns ENOENT into ECANCELED for a transfer it saw cancelled), any
 *     other errno 500: a descriptor we cannot read is our problem, even
 *     EACCES or EINVAL.
 *   HTTP_FAILURE_OPEN: 503 where the table says 503 (NBD server
 *     unreachable, the client may retry), and a remote's verdict on its
 *     image (http backend: ECANCELED 403, ENOLINK 404, EREMOTEIO 502);
 *     any other errno 500: failing to open the image is never the
 *     client's fault, even EACCES.
 *   HTTP_FAILURE_SPOOL: EINVAL 400 (bad id or descriptor), any other
 *     errno 500: the spool is the server's problem (ENOENT, EACCES,
 *     ENOSPC on the spool are not the client's).
 *   HTTP_FAILURE_SPOOL_DELETE: the same, but ENOENT 404: the transfer
 *     to delete is not there. */
int http_status_from_errno (int errnum, enum http_failure failure);

/* "OK", "Partial Content", ... for the Status line. */
const char *http_status_reason (int status);

#endif
