/* SPDX-License-Identifier: Apache-2.0 */
/* errno -> HTTP status (fcgi/http-status.c): every row of the table,
 * every documented exception, and the reason phrases. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "http-status.h"
#include "tap.h"

/* One row per errno: the status for each kind of failure, in the order
 * OPERATION, DESCRIPTOR, OPEN, SPOOL, SPOOL_DELETE. */
static const struct {
  int errnum;
  const char *name;
  int status[5];
} rows[] = {
  { ENOENT, "ENOENT", { 404, 404, 500, 500, 404 } },
  { ENOTSUP, "ENOTSUP", { 404, 500, 500, 500, 500 } },
  { EACCES, "EACCES", { 403, 500, 500, 500, 500 } },
  { EPERM, "EPERM", { 403, 500, 500, 500, 500 } },
  { EROFS, "EROFS", { 403, 500, 500, 500, 500 } },
  { ECANCELED, "ECANCELED", { 403, 403, 403, 500, 500 } },
  { EINVAL, "EINVAL", { 400, 500, 500, 400, 400 } },
  { EBADMSG, "EBADMSG", { 400, 500, 500, 500, 500 } },
  { EPIPE, "EPIPE", { 400, 500, 500, 500, 500 } },
  { ERANGE, "ERANGE", { 416, 500, 500, 500, 500 } },
  { EMSGSIZE, "EMSGSIZE", { 413, 500, 500, 500, 500 } },
  { ENOSPC, "ENOSPC", { 507, 500, 500, 500, 500 } },
  { EDQUOT, "EDQUOT", { 507, 500, 500, 500, 500 } },
  { ECONNREFUSED, "ECONNREFUSED", { 503, 500, 503, 500, 500 } },
  { ECONNRESET, "ECONNRESET", { 503, 500, 503, 500, 500 } },
  { EAGAIN, "EAGAIN", { 503, 500, 503, 500, 500 } },
  { ETIMEDOUT, "ETIMEDOUT", { 503, 500, 503, 500, 500 } },
  { EHOSTUNREACH, "EHOSTUNREACH", { 503, 500, 503, 500, 500 } },
  { ENOTCONN, "ENOTCONN", { 503, 500, 503, 500, 500 } },
  { ESHUTDOWN, "ESHUTDOWN", { 503, 500, 503, 500, 500 } },
  /* A remote image (http backend): its verdict passes through open. */
  { ENOLINK, "ENOLINK", { 404, 500, 404, 500, 500 } },
  { EREMOTEIO, "EREMOTEIO", { 502, 500, 502, 500, 500 } },
  /* The web server's FastCGI stream broke mid-body: not the client's
   * fault. */
  { EPROTO, "EPROTO", { 502, 500, 500, 500, 500 } },
  /* Anything else is the server's problem. */
  { EIO, "EIO", { 500, 500, 500, 500, 500 } },
  { ENOMEM, "ENOMEM", { 500, 500, 500, 500, 500 } },
  { EBADF, "EBADF", { 500, 500, 500, 500, 500 } },
  { ENAMETOOLONG, "ENAMETOOLONG", { 500, 500, 500, 500, 500 } },
  { 0, "0", { 500, 500, 500, 500, 500 } },
};

static const struct {
  enum http_failure failure;
  const char *name;
} failures[] = {
  { HTTP_FAILURE_OPERATION, "operation" },
  { HTTP_FAILURE_DESCRIPTOR, "descriptor" },
  { HTTP_FAILURE_OPEN, "open" },
  { HTTP_FAILURE_SPOOL, "spool" },
  { HTTP_FAILURE_SPOOL_DELETE, "spool delete" },
};

static const struct {
  int status;
  const char *reason;
} reasons[] = {
  { 200, "OK" },
  { 201, "Created" },
  { 204, "No Content" },
  { 206, "Partial Content" },
  { 400, "Bad Request" },
  { 403, "Forbidden" },
  { 404, "Not Found" },
  { 405, "Method Not Allowed" },
  { 409, "Conflict" },
  { 411, "Length Required" },
  { 413, "Payload Too Large" },
  { 415, "Unsupported Media Type" },
  { 416, "Range Not Satisfiable" },
  { 500, "Internal Server Error" },
  { 502, "Bad Gateway" },
  { 503, "Service Unavailable" },
  { 507, "Insufficient Storage" },
  { 418, "Unknown" },
  { 0, "Unknown" },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    for (size_t f = 0; f < sizeof failures / sizeof failures[0]; f++) {
      int got = http_status_from_errno (rows[i].errnum, failures[f].failure);

      tap_ok (got == rows[i].status[f], "%s, %s failure: %d (want %d)",
              rows[i].name, failures[f].name, got, rows[i].status[f]);
    }
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
    const char *got = http_status_reason (reasons[i].status);

    tap_ok (strcmp (got, reasons[i].reason) == 0,
            "reason of %d: \"%s\" (want \"%s\")", reasons[i].status, got,
            reasons[i].reason);
  }
  return tap_done ();
}
