/* Read and write whole buffers: short I/O is never ignored. */
#ifndef IMAGEXFER_FULLIO_H
#define IMAGEXFER_FULLIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 on success; -1 with errno on error.  full_pread fails with EIO
 * ("unexpected end of file") when the file ends early. */
int full_pread (int fd, void *buf, size_t count, uint64_t offset);
int full_pwrite (int fd, const void *buf, size_t count, uint64_t offset);

#endif
