/* SPDX-License-Identifier: Apache-2.0 */
/* The http backend: an image on another web server, through libcurl — a
 * transfer of another imagexfer or ImageIO (a gateway in front of many
 * hosts), or a file any web server serves.
 *
 * Each read is one ranged GET, each write one PUT with Content-Range,
 * for the chunk the pipeline hands over: memory stays bounded, and the
 * kept handle's connection carries them all.  A remote that speaks the
 * /images API also zeroes and flushes (PATCH) and lists extents; writes
 * are sent with flush=n there, the flush coming with our flush.
 * An answer that is not exactly the bytes asked for fails the request:
 * never a 200 with less data.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend-http.h"
#include "error.h"

static int
http_backend_can_write (struct backend *b)
{
  return to_http (b)->remote.can_write;
}

static int
http_backend_can_zero (struct backend *b)
{
  return to_http (b)->remote.can_zero;
}

static int
http_backend_can_flush (struct backend *b)
{
  return to_http (b)->remote.can_flush;
}

static int
http_backend_can_extents (struct backend *b)
{
  return to_http (b)->remote.can_extents;
}

/* A remote speaking the /images API answers context=dirty itself (all
 * dirty without a bitmap, 404 for a file transfer: passed on). */
static int
http_backend_can_dirty (struct backend *b)
{
  return to_http (b)->remote.can_extents;
}

/* Exactly the bytes asked for, or the read fails: a remote that
 * answered another range, ignored Range, or sent less. */
static int
http_read_check (struct http_backend *hb, const struct http_exchange *x,
                 size_t count, uint64_t offset)
{
  const char *wrong = NULL;

  if (x->status == 206 && (!x->has_range || x->range_first != offset))
    wrong = "answered another range";
  else if (x->status != 206
           && !(offset == 0 && count == hb->backend.own_size))
    wrong = "ignores Range";
  else if (x->received != count)
    wrong = "sent less than asked for";
  if (wrong == NULL)
    return 0;
  error_set (EREMOTEIO, "read of %zu bytes at offset %" PRIu64 ": remote %s "
             "%s (%ld, %zu bytes)", count, offset, hb->label, wrong,
             x->status, x->received);
  return -1;
}

static int
http_backend_pread (struct backend *b, void *buf, size_t count,
                    uint64_t offset)
{
  struct http_backend *hb = to_http (b);
  char range[80];
  struct curl_slist header = { .data = range, .next = NULL };
  struct http_exchange x = {
    .method = "GET", .headers = &header, .sink = HTTP_SINK_BUFFER,
    .buffer = buf, .buffer_len = count,
  };
  int r;

  snprintf (range, sizeof range, "Range: bytes=%" PRIu64 "-%" PRIu64,
            offset, offset + count - 1);
  r = http_exchange_run (hb, &x, "read", offset);
  if (r == 0)
    r = http_read_check (hb, &x, count, offset);
  http_exchange_free (&x);
  return r;
}

static int
http_backend_pwrite (struct backend *b, const void *buf, size_t count,
                     uint64_t offset)
{
  struct http_backend *hb = to_http (b);
  char range[96];
  struct curl_slist header = { .data = range, .next = NULL };
  struct http_exchange x = {
    .method = "PUT", .headers = &header, .upload = buf, .upload_len = count,
    .sink = HTTP_SINK_NONE,
    /* Our flush is the remote's flush: not one per chunk. */
    .query = hb->remote.images_api ? "flush=n" : NULL,
  };
  int r;

  snprintf (range, sizeof range, "Content-Range: bytes %" PRIu64 "-%"
            PRIu64 "/*", offset, offset + count - 1);
  r = http_exchange_run (hb, &x, "write", offset);
  http_exchange_free (&x);
  return r;
}

static int
http_backend_patch (struct http_backend *hb, const char *json,
                    const char *what, uint64_t offset)
{
  struct curl_slist header = {
    .data = (char *) "Content-Type: application/json", .next = NULL,
  };
  struct http_exchange x = {
    .method = "PATCH", .headers = &header, .upload = json,
    .upload_len = strlen (json), .sink = HTTP_SINK_NONE,
  };
  int r = http_exchange_run (hb, &x, what, offset);

  http_exchange_free (&x);
  return r;
}

/* The remote zeroes as its transfer says (its own "sparse"). */
static int
http_backend_zero (struct backend *b, uint64_t count, uint64_t offset,
                   bool may_trim)
{
  char json[128];

  (void) may_trim;
  snprintf (json, sizeof json, "{\"op\": \"zero\", \"offset\": %" PRIu64
            ", \"size\": %" PRIu64 ", \"flush\": false}", offset, count);
  return http_backend_patch (to_http (b), json, "zero", offset);
}

static int
http_backend_flush (struct backend *b)
{
  return http_backend_patch (to_http (b), "{\"op\": \"flush\"}", "flush",
                             HTTP_NO_OFFSET);
}

const struct backend_ops backend_http_ops = {
  .open = http_backend_open,
  .close = http_backend_close,
  .can_write = http_backend_can_write,
  .can_zero = http_backend_can_zero,
  .can_flush = http_backend_can_flush,
  .can_extents = http_backend_can_extents,
  .can_dirty = http_backend_can_dirty,
  .pread = http_backend_pread,
  .pwrite = http_backend_pwrite,
  .zero = http_backend_zero,
  .flush = http_backend_flush,
  .extents = http_backend_extents,
  .checksum = http_backend_checksum,
  .can_keep = http_backend_can_keep,
  .reuse = http_backend_reuse,
};
