/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend: opening (what the remote is and can do), closing,
 * and keeping the handle for the next request.
 *
 * Open asks the remote twice on the same connection:
 *   OPTIONS: a remote that speaks the /images API (imagexfer, ImageIO)
 *     answers JSON with "features" (zero, flush, extents) and an Allow
 *     header; any other web server answers with Allow, or an error (a
 *     static server: read-only);
 *   HEAD: the size (Content-Length), and the remote's verdict on the
 *     transfer (403 cancelled or expired, 404 unknown: passed on).
 * Writes need PUT in Allow (a remote's read-only transfer, or a static
 * server, make a read-only transfer here).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "backend-http.h"
#include "error.h"
#include "log.h"

static bool
allow_has (const char *allow, const char *method)
{
  size_t n = strlen (method);

  for (const char *p = allow; (p = strstr (p, method)) != NULL; p += n) {
    bool start = p == allow || p[-1] == ' ' || p[-1] == ',';
    bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';

    if (start && end)
      return true;
  }
  return false;
}

static void
remote_features (struct http_remote *remote, const struct http_exchange *x)
{
  json_object *obj, *features;

  if (!x->json || x->text == NULL
      || (obj = json_tokener_parse (x->text)) == NULL)
    return;
  if (json_object_object_get_ex (obj, "features", &features)
      && json_object_is_type (features, json_type_array)) {
    remote->images_api = true;
    for (size_t i = 0; i < json_object_array_length (features); i++) {
      const char *f = json_object_get_string
                        (json_object_array_get_idx (features, i));

      if (f == NULL)
        continue;
      remote->can_zero |= strcmp (f, "zero") == 0;
      remote->can_flush |= strcmp (f, "flush") == 0;
      remote->can_extents |= strcmp (f, "extents") == 0;
      remote->can_checksum |= strcmp (f, "checksum") == 0;
    }
  }
  json_object_put (obj);
}

/* OPTIONS: capabilities.  A server that does not know OPTIONS (405, 501)
 * or refuses it is a plain web server: ranged GETs only. */
static int
http_backend_discover (struct http_backend *hb)
{
  struct http_exchange x = {
    .method = "OPTIONS", .sink = HTTP_SINK_TEXT,
  };
  int r = http_exchange_run (hb, &x, "open", HTTP_NO_OFFSET);

  if (r == 0) {
    remote_features (&hb->remote, &x);
    /* Only a remote that speaks the /images API writes a PUT with a
     * Content-Range where it says: a WebDAV server may list PUT and
     * replace the whole file with each chunk. */
    hb->remote.can_write = hb->remote.images_api
                           && allow_has (x.allow, "PUT");
  }
  else if (x.status == 405 || x.status == 501 || x.status == 400) {
    log_debug ("open %s: remote %s answers OPTIONS with %ld: read-only "
               "ranged GETs", hb->id, hb->label, x.status);
    r = 0;
  }
  http_exchange_free (&x);
  return r;
}

/* HEAD: the size. */
static int
http_backend_size (struct http_backend *hb)
{
  struct http_exchange x = { .method = "HEAD", .sink = HTTP_SINK_NONE };
  int r = http_exchange_run (hb, &x, "open", HTTP_NO_OFFSET);

  if (r == 0 && !x.has_length) {
    error_set (EREMOTEIO, "open: remote %s gives no Content-Length for the "
               "image", hb->label);
    r = -1;
  }
  if (r == 0)
    hb->backend.size = x.length;
  http_exchange_free (&x);
  return r;
}

struct backend *
http_backend_open (const struct transfer *t, bool writable)
{
  struct http_backend *hb = calloc (1, sizeof *hb);

  (void) writable;
  if (hb == NULL) {
    error_set (ENOMEM, "calloc");
    return NULL;
  }
  snprintf (hb->id, sizeof hb->id, "%s", t->id);
  extent_list_init (&hb->extents[0]);
  extent_list_init (&hb->extents[1]);
  /* The data path calls back into backend_still_wanted through it. */
  hb->backend.transfer = t;
  /* No client to watch until backend_open's caller names one; 0 (from
   * calloc) would be the worker's standard input. */
  hb->backend.client_fd = -1;
  if (http_handle_setup (hb, t) == -1
      || http_backend_discover (hb) == -1
      || http_backend_size (hb) == -1) {
    http_backend_close (&hb->backend);
    return NULL;
  }
  hb->backend.max_request = HTTP_MAX_REQUEST;
  return &hb->backend;
}

void
http_backend_close (struct backend *b)
{
  struct http_backend *hb = to_http (b);

  http_handle_free (hb);
  extent_list_free (&hb->extents[0]);
  extent_list_free (&hb->extents[1]);
  free (hb);
}

/* A handle that served a request well keeps its connection. */
bool
http_backend_can_keep (struct backend *b)
{
  return to_http (b)->curl != NULL;
}

/* The same descriptor (backend.c checked the spool file), so the same
 * settings; checked anyway, as the handle's connection depends on them.
 * What the remote said about the image is kept (its capabilities and
 * size; a changed remote answers our next request with an error); the
 * extents are asked again. */
bool
http_backend_reuse (struct backend *b, const struct transfer *t)
{
  struct http_backend *hb = to_http (b);

  if (!http_handle_same_settings (hb, t))
    return false;
  snprintf (hb->id, sizeof hb->id, "%s", t->id);
  hb->has_extents[0] = hb->has_extents[1] = false;
  return true;
}
