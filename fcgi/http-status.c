/* SPDX-License-Identifier: Apache-2.0 */
/* The errno table and its documented exceptions (http-status.h). */
#include <config.h>

#include <errno.h>

#include "http-status.h"

static int
status_from_table (int errnum)
{
  switch (errnum) {
  case ENOENT:
  case ENOTSUP:
  case ENOLINK:    /* a remote image (http backend) that is not there */
    return 404;
  case EACCES:
  case EPERM:
  case EROFS:
  case ECANCELED:
    return 403;
  case EINVAL:
  case EBADMSG:
  case EPIPE:      /* the client sent less than it announced */
    return 400;
  case ERANGE:
    return 416;
  case EMSGSIZE:
    return 413;
  case ENOSPC:
  case EDQUOT:
    return 507;
  case ECONNREFUSED:
  case ECONNRESET:
  case EAGAIN:
  case ETIMEDOUT:
  case EHOSTUNREACH:
  case ENOTCONN:
  case ESHUTDOWN:
    return 503;
  case EREMOTEIO:  /* a remote (http backend) failed or answered wrong */
  case EPROTO:     /* the web server's FastCGI records were malformed */
    return 502;
  default:
    return 500;
  }
}

int
http_status_from_errno (int errnum, enum http_failure failure)
{
  int status = status_from_table (errnum);

  switch (failure) {
  case HTTP_FAILURE_OPERATION:
    return status;
  case HTTP_FAILURE_DESCRIPTOR:
    return errnum == ENOENT || errnum == ECANCELED ? status : 500;
  case HTTP_FAILURE_OPEN:
    /* A remote image's own verdict (cancelled, unknown, failing) is
     * the remote's to give, not ours to hide. */
    if (errnum == ECANCELED || errnum == ENOLINK || errnum == EREMOTEIO)
      return status;
    return status == 503 ? 503 : 500;
  case HTTP_FAILURE_SPOOL:
    return errnum == EINVAL ? status : 500;
  case HTTP_FAILURE_SPOOL_DELETE:
    return errnum == EINVAL || errnum == ENOENT ? status : 500;
  }
  return 500;
}

const char *
http_status_reason (int status)
{
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 507: return "Insufficient Storage";
  default: return "Unknown";
  }
}
