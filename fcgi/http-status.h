/* errno -> HTTP status, in exactly one place (STYLE.md). */
#ifndef IMAGEXFER_HTTP_STATUS_H
#define IMAGEXFER_HTTP_STATUS_H

/* ENOENT 404, EACCES/EPERM/EROFS 403, EINVAL 400, ERANGE 416,
 * EMSGSIZE 413, ENOSPC/EDQUOT 507, ECONNREFUSED/EAGAIN/ETIMEDOUT/
 * EHOSTUNREACH 503, ENOTSUP 404 (no such context), other 500. */
int http_status_from_errno (int errnum);

/* "OK", "Partial Content", ... for the Status line. */
const char *http_status_reason (int status);

#endif
