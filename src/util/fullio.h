/* SPDX-License-Identifier: Apache-2.0 */
/* Read and write whole buffers: short I/O is never ignored. */
#ifndef IMAGEXFER_FULLIO_H
#define IMAGEXFER_FULLIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 on success; -1 with errno on error.  full_pread fails with EIO
 * ("unexpected end of file") when the file ends early, full_pwrite (and
 * full_writev) when a call writes nothing without an error. */
int full_pread (int fd, void *buf, size_t count, uint64_t offset);
int full_pwrite (int fd, const void *buf, size_t count, uint64_t offset);

struct iovec;

/* writev until every iovec is written; iov is advanced over partial
 * writes (its contents are changed).  0, or -1 with errno. */
int full_writev (int fd, struct iovec *iov, int iovcnt);

/* Copy count bytes of in_fd at offset to out_fd with sendfile, however
 * many calls it takes.  -1 with errno; EIO when in_fd ends early (the
 * file shrank under us). */
int full_sendfile (int out_fd, int in_fd, uint64_t offset, size_t count);

#endif
