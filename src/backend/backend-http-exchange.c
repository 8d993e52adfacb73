/* SPDX-License-Identifier: Apache-2.0 */
/* One exchange with the remote: set the handle up for a request, run it,
 * read what the answer says (status, Content-Range, Allow, the body), and
 * turn a failure into an errno our clients' status follows:
 *
 *   remote 400/403/404/413/416/507: the remote's own verdict, passed on
 *     (EINVAL, ECANCELED, ENOLINK, EMSGSIZE, ERANGE, ENOSPC);
 *   remote 405: EROFS (the remote does not allow the method: read-only);
 *   remote 503, unreachable, silent for the timeout, connection cut:
 *     503 (ECONNREFUSED, ETIMEDOUT, ECONNRESET, ...), the client may retry;
 *   any other remote answer, a TLS failure (an untrusted certificate):
 *     EREMOTEIO, 502 with the remote's message;
 *   our cancel (the descriptor deleted while waiting): ECANCELED.
 *
 * The remote's messages are passed on with its transfer id replaced by
 * ours: the gateway's clients must not learn the host's id.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "backend-http.h"
#include "error.h"
#include "log.h"
#include "monotonic.h"

int
http_remote_errno (long status)
{
  switch (status) {
  case 400: return EINVAL;
  case 403: return ECANCELED;
  case 404: return ENOLINK;
  case 405: return EROFS;
  case 413: return EMSGSIZE;
  case 416: return ERANGE;
  case 503: return EAGAIN;
  case 507: return ENOSPC;
  default: return EREMOTEIO;
  }
}

static int
curl_code_errno (CURLcode code)
{
  switch (code) {
  case CURLE_COULDNT_CONNECT: return ECONNREFUSED;
  case CURLE_COULDNT_RESOLVE_HOST: return EHOSTUNREACH;
  case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE: return ECONNRESET;
  case CURLE_ABORTED_BY_CALLBACK: return ECANCELED;
  case CURLE_OUT_OF_MEMORY: return ENOMEM;
  default: return EREMOTEIO;
  }
}

/* When line is the header name:, its value (blanks and line end cut,
 * NUL-terminated, at most size - 1 bytes) in value. */
static bool
header_is (const char *line, size_t len, const char *name, char *value,
           size_t size)
{
  size_t n = strlen (name);
  const char *v = line + n + 1;
  const char *end = line + len;

  if (len <= n || strncasecmp (line, name, n) != 0 || line[n] != ':')
    return false;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  snprintf (value, size, "%.*s", (int) (end - v), v);
  return true;
}

static size_t
on_header (char *line, size_t size, size_t nitems, void *opaque)
{
  struct http_exchange *x = opaque;
  size_t len = size * nitems;
  char v[256];

  if (len >= 5 && strncmp (line, "HTTP/", 5) == 0) {
    /* A new answer (after a 100 Continue): forget the last one's. */
    x->has_length = x->has_range = x->json = false;
    x->allow[0] = '\0';
    x->status = 0;
    snprintf (v, sizeof v, "%.*s", (int) len, line);
    sscanf (v, "HTTP/%*s %ld", &x->status);
    return len;
  }
  if (header_is (line, len, "Content-Length", v, sizeof v))
    x->has_length = sscanf (v, "%" SCNu64, &x->length) == 1;
  else if (header_is (line, len, "Content-Range", v, sizeof v))
    x->has_range = sscanf (v, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64,
                           &x->range_first, &x->range_last,
                           &x->range_total) >= 2;
  else if (header_is (line, len, "Content-Type", v, sizeof v))
    x->json = strncasecmp (v, "application/json", 16) == 0;
  else if (header_is (line, len, "Allow", v, sizeof v))
    snprintf (x->allow, sizeof x->allow, "%s", v);
  return len;
}

static bool
status_ok (long status)
{
  return status >= 200 && status < 300;
}

static size_t
append_text (struct http_exchange *x, const char *data, size_t len)
{
  size_t max = x->text_max && status_ok (x->status) ? x->text_max
                                                      : HTTP_SMALL_BODY_MAX;
  size_t room = x->text_len < max ? max - x->text_len : 0;

  if (len > room) {
    x->text_truncated = true;
    len = room;
  }
  if (len > 0) {
    char *t = realloc (x->text, x->text_len + len + 1);

    if (t == NULL)
      return 0;
    x->text = t;
    memcpy (x->text + x->text_len, data, len);
    x->text_len += len;
    x->text[x->text_len] = '\0';
  }
  return len;
}

static size_t
on_body (char *data, size_t size, size_t nmemb, void *opaque)
{
  struct http_exchange *x = opaque;
  size_t len = size * nmemb;

  if (!status_ok (x->status) || x->sink == HTTP_SINK_TEXT) {
    /* Past the limit an error body or a small answer (OPTIONS) is cut;
     * a list we need whole (text_max given) fails. */
    if (append_text (x, data, len) < len && status_ok (x->status)
        && x->text_max) {
      x->too_much = true;
      return 0;
    }
    return len;
  }
  if (x->sink != HTTP_SINK_BUFFER)
    return len;
  if (len > x->buffer_len - x->received) {
    x->too_much = true;
    return 0;
  }
  memcpy ((char *) x->buffer + x->received, data, len);
  x->received += len;
  return len;
}

static size_t
on_upload (char *data, size_t size, size_t nitems, void *opaque)
{
  struct http_exchange *x = opaque;
  size_t n = x->upload_len - x->sent;

  if (n > size * nitems)
    n = size * nitems;
  memcpy (data, (const char *) x->upload + x->sent, n);
  x->sent += n;
  return n;
}

/* Called by libcurl about once a second while waiting, and as data
 * moves: a cancelled transfer stops a blocked request in about a
 * second, without waiting for the remote's timeout, as does a watched
 * client that went away (backend_watch_client), and an abandoned read
 * (backend_set_abandoned: the download ended early) at once. */
static int
on_progress (void *opaque, curl_off_t dltotal, curl_off_t dlnow,
             curl_off_t ultotal, curl_off_t ulnow)
{
  struct http_backend *hb = opaque;

  (void) dltotal; (void) dlnow; (void) ultotal; (void) ulnow;
  if (backend_abandoned (&hb->backend))
    return 1;
  if (!monotonic_due (&hb->last_cancel_check, HTTP_CANCEL_CHECK_MS))
    return 0;
  if (!backend_still_wanted (&hb->backend))
    return 1;
  return backend_client_gone (&hb->backend) ? 1 : 0;
}

/* url + resource, before its query, then the queries. */
static char *
exchange_url (const struct http_backend *hb, const struct http_exchange *x)
{
  size_t base_len = strcspn (hb->url, "?");
  const char *url_query = hb->url[base_len] ? hb->url + base_len + 1 : NULL;
  const char *res = x->resource ? x->resource : "";
  size_t res_len = strcspn (res, "?");
  const char *res_query = res[res_len] ? res + res_len + 1 : NULL;
  const char *queries[3] = { url_query, res_query, x->query };
  char *url = NULL;
  size_t size = 0;
  FILE *fp = open_memstream (&url, &size);
  bool first = true;

  if (fp == NULL)
    return NULL;
  fprintf (fp, "%.*s%.*s", (int) base_len, hb->url, (int) res_len, res);
  for (int i = 0; i < 3; i++) {
    if (queries[i] && queries[i][0]) {
      fprintf (fp, "%c%s", first ? '?' : '&', queries[i]);
      first = false;
    }
  }
  if (fclose (fp) != 0) {
    free (url);
    return NULL;
  }
  return url;
}

/* list with copies of from's lines appended; NULL (list freed) when
 * out of memory. */
static struct curl_slist *
slist_append_all (struct curl_slist *list, const struct curl_slist *from)
{
  for (; from; from = from->next) {
    struct curl_slist *l = curl_slist_append (list, from->data);

    if (l == NULL) {
      curl_slist_free_all (list);
      return NULL;
    }
    list = l;
  }
  return list;
}

/* The descriptor's headers, then the request's own. */
static struct curl_slist *
exchange_headers (const struct http_backend *hb, struct http_exchange *x)
{
  struct curl_slist *list = slist_append_all (NULL, hb->base_headers);

  return list ? slist_append_all (list, x->headers) : NULL;
}

static void
exchange_method (CURL *c, struct http_exchange *x)
{
  curl_easy_setopt (c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, NULL);
  if (strcmp (x->method, "HEAD") == 0)
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  else if (strcmp (x->method, "PUT") == 0) {
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE,
                      (curl_off_t) x->upload_len);
    curl_easy_setopt (c, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt (c, CURLOPT_READDATA, x);
  }
  else if (strcmp (x->method, "PATCH") == 0) {
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, x->upload);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE,
                      (curl_off_t) x->upload_len);
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, "PATCH");
  }
  else if (strcmp (x->method, "GET") != 0)
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, x->method);
}

/* The remote's own message: "error" of its JSON answer, else the first
 * line of its body, with its transfer id replaced by ours. */
static void
remote_message (const struct http_backend *hb, const struct http_exchange *x,
                char *buf, size_t size)
{
  const char *text = x->text ? x->text : "";
  json_object *obj = NULL, *error;
  char line[512];
  const char *found;
  size_t id_len = strlen (hb->remote_id);

  if (x->json && (obj = json_tokener_parse (text)) != NULL
      && json_object_object_get_ex (obj, "error", &error)
      && json_object_is_type (error, json_type_string))
    text = json_object_get_string (error);
  snprintf (line, sizeof line, "%.*s", (int) strcspn (text, "\r\n"), text);
  buf[0] = '\0';
  if (id_len > 0 && (found = strstr (line, hb->remote_id)) != NULL)
    snprintf (buf, size, "%.*s%s%s", (int) (found - line), line, hb->id,
              found + id_len);
  else
    snprintf (buf, size, "%s", line);
  json_object_put (obj);
}

static int
exchange_failed (struct http_backend *hb, struct http_exchange *x,
                 CURLcode code, const char *what, uint64_t offset)
{
  char message[512], at[48] = "";

  if (offset != HTTP_NO_OFFSET)
    snprintf (at, sizeof at, " at offset %" PRIu64, offset);

  if (code == CURLE_ABORTED_BY_CALLBACK) {
    if (hb->backend.client_gone)
      error_set (ECANCELED, "%s%s: the client went away", what, at);
    else
      error_set (ECANCELED, "transfer %s was cancelled", hb->id);
    return -1;
  }
  if (code != CURLE_OK && !(x->too_much && code == CURLE_WRITE_ERROR)) {
    const char *detail = hb->error_buffer[0] ? hb->error_buffer
                                             : curl_easy_strerror (code);
    error_set (curl_code_errno (code), "%s%s: remote %s: %s", what, at,
               hb->label, detail);
    return -1;
  }
  if (x->too_much) {
    error_set (EREMOTEIO, "%s%s: remote %s sent more than asked for", what,
               at, hb->label);
    return -1;
  }
  remote_message (hb, x, message, sizeof message);
  error_set (http_remote_errno (x->status), "%s%s: remote %s answered %ld%s%s",
             what, at, hb->label, x->status, message[0] ? ": " : "", message);
  return -1;
}

int
http_exchange_run (struct http_backend *hb, struct http_exchange *x,
                   const char *what, uint64_t offset)
{
  CURL *c = hb->curl;
  char *url = exchange_url (hb, x);
  struct curl_slist *headers = exchange_headers (hb, x);
  long connects = 0;
  CURLcode code;

  if (url == NULL || headers == NULL) {
    free (url);
    curl_slist_free_all (headers);
    error_set (ENOMEM, "%s: building the request", what);
    return -1;
  }
  hb->error_buffer[0] = '\0';
  clock_gettime (CLOCK_MONOTONIC, &hb->last_cancel_check);
  exchange_method (c, x);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (c, CURLOPT_XFERINFODATA, hb);
  code = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_NUM_CONNECTS, &connects);
  /* The handle must not keep pointers into this frame. */
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all (headers);
  free (url);
  log_debug ("%s %s: remote %s %s%s: %ld (%s connection)", what, hb->id,
             x->method, hb->label, x->resource ? x->resource : "",
             x->status, connects ? "new" : "reused");
  if (code == CURLE_OK && status_ok (x->status) && !x->too_much)
    return 0;
  return exchange_failed (hb, x, code, what, offset);
}

void
http_exchange_free (struct http_exchange *x)
{
  free (x->text);
  x->text = NULL;
}
