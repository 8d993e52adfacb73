/* SPDX-License-Identifier: Apache-2.0 */
/* Overlapping backend I/O with network I/O.
 *
 * A download alternates between reading a chunk from the backend and
 * writing it to the web server, an upload between reading the body and
 * writing the backend, and each side waits for the other.  A pipeline
 * runs the backend side in a second thread over two chunk buffers: while
 * the request's thread moves one buffer over the network, the backend
 * thread fills (download) or drains (upload) the other.  Memory per
 * request: two chunks.
 *
 * A request of one chunk has nothing to overlap and runs inline.  Only
 * the backend thread touches the backend while a pipeline runs;
 * errors it meets are handed back to the request's thread through
 * error_set, as if the call had been made there.
 */
#ifndef IMAGEXFER_PIPELINE_H
#define IMAGEXFER_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

struct pipeline;

/* Start reading [offset, offset+length) of b in chunks of chunk bytes
 * ahead of the consumer.  NULL with error_set on failure. */
struct pipeline *pipeline_start_read (struct backend *b, uint64_t offset,
                                      uint64_t length, size_t chunk);
/* The next chunk, in order (waits for it); the chunk returned before is
 * given back to the reader.  NULL with error_set when the backend
 * failed. */
const void *pipeline_next_chunk (struct pipeline *p, size_t *length);

/* Start writing the length bytes handed over with pipeline_submit at
 * offset, offset+n, ... */
struct pipeline *pipeline_start_write (struct backend *b, uint64_t offset,
                                       uint64_t length, size_t chunk);
/* A free buffer of chunk bytes to fill (waits for one); NULL with
 * error_set when the backend failed. */
void *pipeline_free_buffer (struct pipeline *p);
/* Hand the buffer from pipeline_free_buffer, filled with length bytes,
 * to the writer. */
void pipeline_submit (struct pipeline *p, size_t length);

/* A download that ended early: the reader stops now, in the middle of
 * its chunk, while the request's thread ends the response (which may
 * wait for the web server).  pipeline_finish must follow. */
void pipeline_abandon (struct pipeline *p);

/* Stop and free.  A writer first finishes what was submitted; a reader
 * abandons the chunk it is reading (backend_set_abandoned: an NBD read
 * sends no more commands), which is not a failure.  Returns
 * 0, or -1 with error_set when the backend failed, and then (when
 * failed_offset is not NULL) the offset of the chunk that failed, for
 * the client's error message. */
int pipeline_finish (struct pipeline *p, uint64_t *failed_offset);

#endif
