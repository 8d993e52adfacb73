/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend's curl handle: one easy handle per open backend,
 * kept with it between requests of the same transfer (backend.c's kept
 * slot), so the connection to the remote and its TLS session are reused
 * (keep-alive).  The settings that shape a connection (url, CA, insecure,
 * headers, timeout) are copied here: a kept handle serves the next
 * request only when its descriptor asks for the same ones. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend-http.h"
#include "error.h"
#include "log.h"

static int
copy_string (const char *s, char **out)
{
  *out = NULL;
  if (s == NULL)
    return 0;
  *out = strdup (s);
  if (*out == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  return 0;
}

/* scheme://host[:port] of url, for messages; the path holds the remote
 * transfer id, a credential of the remote, and is never shown. */
static char *
url_label (const char *url)
{
  const char *host = strstr (url, "://") + 3;
  size_t len = (size_t) (host - url) + strcspn (host, "/?");

  return strndup (url, len);
}

/* The last path segment of url: the remote's transfer id. */
static char *
url_last_segment (const char *url)
{
  const char *host = strstr (url, "://") + 3;
  size_t path_len = strcspn (host, "?");
  const char *end = host + path_len;
  const char *start = end;

  while (start > host && start[-1] != '/')
    start--;
  return strndup (start, (size_t) (end - start));
}

static long
handle_timeout (const struct http_location *loc)
{
  return loc->remote_timeout > 0 ? (long) loc->remote_timeout
                                 : (long) backend_timeout ();
}

static int
handle_headers (struct http_backend *hb, const struct http_location *loc)
{
  /* "Expect: 100-continue" would cost every upload a round trip (and a
   * second of waiting on servers that do not answer it). */
  hb->base_headers = curl_slist_append (NULL, "Expect:");
  for (size_t i = 0; hb->base_headers && loc->headers
       && i < loc->headers->count; i++) {
    struct curl_slist *l = curl_slist_append (hb->base_headers,
                                              loc->headers->lines[i]);
    if (l == NULL) {
      curl_slist_free_all (hb->base_headers);
      hb->base_headers = NULL;
    }
    else
      hb->base_headers = l;
  }
  if (hb->base_headers == NULL) {
    error_set (ENOMEM, "curl_slist_append");
    return -1;
  }
  return 0;
}

int
http_handle_setup (struct http_backend *hb, const struct transfer *t)
{
  const struct http_location *loc = t->location;
  static bool global_done;
  CURL *c;

  if (!global_done) {
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != 0) {
      error_set (ENOMEM, "curl_global_init");
      return -1;
    }
    global_done = true;
  }
  if (copy_string (loc->url, &hb->url) == -1
      || copy_string (loc->ca_file, &hb->ca_file) == -1
      || (hb->label = url_label (loc->url)) == NULL
      || (hb->remote_id = url_last_segment (loc->url)) == NULL
      || (hb->error_buffer = calloc (1, CURL_ERROR_SIZE)) == NULL) {
    error_set (ENOMEM, "strdup");
    return -1;
  }
  hb->insecure = loc->insecure;
  hb->timeout = handle_timeout (loc);
  if (handle_headers (hb, loc) == -1)
    return -1;

  hb->curl = c = curl_easy_init ();
  if (c == NULL) {
    error_set (ENOMEM, "curl_easy_init");
    return -1;
  }
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, hb->error_buffer);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, hb->timeout);
  /* A remote that sends or takes nothing for the timeout fails the
   * request (503), like a silent NBD server. */
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, hb->timeout);
  curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt (c, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
  curl_easy_setopt (c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
  if (hb->ca_file)
    curl_easy_setopt (c, CURLOPT_CAINFO, hb->ca_file);
  if (hb->insecure) {
    /* Never silently: every handle made so says it in the log. */
    log_warning ("open %s: remote %s: TLS certificate checks are off "
                 "(insecure)", t->id, hb->label);
    curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return 0;
}

static bool
same_string (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

bool
http_handle_same_settings (const struct http_backend *hb,
                           const struct transfer *t)
{
  const struct http_location *loc = t->location;
  const struct curl_slist *h = hb->base_headers->next;  /* after Expect: */
  size_t i = 0;

  if (!same_string (hb->url, loc->url) || !same_string (hb->ca_file,
                                                        loc->ca_file)
      || hb->insecure != loc->insecure || hb->timeout != handle_timeout (loc))
    return false;
  for (; h && loc->headers && i < loc->headers->count; h = h->next, i++)
    if (strcmp (h->data, loc->headers->lines[i]) != 0)
      return false;
  return h == NULL && i == (loc->headers ? loc->headers->count : 0);
}

void
http_handle_free (struct http_backend *hb)
{
  if (hb->curl)
    curl_easy_cleanup (hb->curl);
  curl_slist_free_all (hb->base_headers);
  free (hb->url);
  free (hb->label);
  free (hb->remote_id);
  free (hb->ca_file);
  free (hb->error_buffer);
}
