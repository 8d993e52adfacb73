/* SPDX-License-Identifier: Apache-2.0 */
/* GET /images/<id>/extents[?context=zero|dirty] */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "images-handlers.h"
#include "log.h"

/* Backends are asked for the rest of the image and answer as much as
 * they describe at once (backend_extents_part: a bounded part, whatever
 * was asked), so one part's extent list is all a request holds, and the
 * NBD backend can keep several block status commands in flight.
 *
 * The answer needs a Content-Length, and a fragmented image has millions
 * of extents, so the JSON goes to an unlinked temporary file (stdio
 * buffered) rather than memory, and is sent from there by the kernel. */

static int
append_extent (FILE *out, const struct extent *e,
               enum extents_context context, bool first)
{
  if (context == EXTENTS_CONTEXT_DIRTY)
    return fprintf (out,
                    "%s{\"start\": %" PRIu64 ", \"length\": %"
                               PRIu64 ", \"dirty\": %s, \"zero\": %s}",
                    first ? "" : ", ", e->start, e->length,
                    e->flags & EXTENT_DIRTY ? "true" : "false",
                    e->flags & EXTENT_ZERO ? "true" : "false");
  return fprintf (out,
                    "%s{\"start\": %" PRIu64 ", \"length\": %" PRIu64
                    ", \"zero\": %s, \"hole\": %s}",
                    first ? "" : ", ", e->start, e->length,
                    e->flags & EXTENT_ZERO ? "true" : "false",
                    e->flags & EXTENT_HOLE ? "true" : "false");
}

/* Walk [0, size) part by part, printing every extent but the last of
 * each part: it may still merge with the first of the next. */
static int
collect_extents (struct image_request *ir, enum extents_context context,
                 FILE *out)
{
  struct backend *b = ir->backend;
  struct extent_list list;
  uint64_t offset = 0;
  bool first = true;
  int r = -1;

  extent_list_init (&list);
  if (fputc ('[', out) == EOF)
    goto io_error;
  while (offset < b->size) {
    uint64_t described;
    struct extent carry;

    if (backend_extents_part (b, context, b->size - offset, offset, &list,
                              &described) == -1)
      goto out;
    /* Extents are no image data: nothing to count, only the check. */
    if (image_request_chunk_done (ir, 0, IMAGE_CHUNK_READ) == -1)
      goto out;
    for (size_t i = 0; i + 1 < list.count; i++, first = false)
      if (append_extent (out, &list.items[i], context, first) < 0)
        goto io_error;
    carry = list.items[list.count - 1];
    extent_list_clear (&list);
    if (extent_list_append (&list, carry.start, carry.length, carry.flags)
        == -1)
      goto out;
    offset = described;
  }
  if (list.count > 0 && append_extent (out, &list.items[0], context, first)
      < 0)
    goto io_error;
  if (fputc (']', out) == EOF || fflush (out) == EOF)
    goto io_error;
  r = 0;
  goto out;
io_error:
  error_set (errno ? errno : EIO, "writing the extents list");
out:
  extent_list_free (&list);
  return r;
}

void
images_extents (struct image_request *ir)
{
  struct request *req = ir->req;
  enum extents_context context = EXTENTS_CONTEXT_ZERO;
  FILE *out;
  char value[16];

  if (request_query (req, "context", value, sizeof value)) {
    if (strcmp (value, "zero") == 0)
      context = EXTENTS_CONTEXT_ZERO;
    else if (strcmp (value, "dirty") == 0)
      context = EXTENTS_CONTEXT_DIRTY;
    else {
      response_error (req, 400, "unknown extents context: %s", value);
      return;
    }
  }
  out = tmpfile ();
  if (!out) {
    error_set (errno, "tmpfile for the extents list");
    image_request_fail (ir, "extents");
    return;
  }
  if (collect_extents (ir, context, out) == -1)
    image_request_fail (ir, "extents");
  else {
    uint64_t length = (uint64_t) ftello (out);

    if (response_begin (req, 200, "application/json", true, length) == 0
        && response_sendfile (req, fileno (out), 0, length) == -1)
      response_abort (req);
  }
  fclose (out);
}
