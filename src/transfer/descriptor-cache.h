/* SPDX-License-Identifier: Apache-2.0 */
/* Descriptor text kept by a worker between requests.
 *
 * Every request reads its transfer's descriptor again: open, fstat, two
 * reads, close, a third of the system calls of a 4 KiB ranged GET.  A
 * file that has not changed is known by one lstat: same device, inode,
 * size, modification and change time.  Deleting the file (cancel) or
 * replacing it (rename) is seen at the next request exactly as before.
 *
 * A file changed in place within the timestamps' granularity could keep
 * its times; text is only kept once its change time is over a second in
 * the past, so that any later change shows. */
#ifndef IMAGEXFER_DESCRIPTOR_CACHE_H
#define IMAGEXFER_DESCRIPTOR_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

/* The kept text of path when the file is unchanged (*st filled by its
 * lstat), else NULL.  The text stays valid until the next
 * descriptor_cache_keep. */
const char *descriptor_cache_find (const char *path, struct stat *st,
                                   size_t *length);

/* Keep text (length bytes) read from path whose fstat was st, if it is
 * old enough and small enough; best effort. */
void descriptor_cache_keep (const char *path, const struct stat *st,
                            const char *text, size_t length);

#endif
