/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend's location: what a descriptor says about a raw file
 * or block device.  Private to backend-file*.c. */
#ifndef IMAGEXFER_BACKEND_FILE_H
#define IMAGEXFER_BACKEND_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "backend.h"

/* backend-file.c: the ops; backend-file-descriptor.c: the registry row. */
extern const struct backend_ops backend_file_ops;

struct file_location {
  char *path;                   /* absolute path of the file or device */
  uint64_t offset;              /* the window's start inside it */
};

struct file_backend {
  struct backend backend;       /* must be first */
  int fd;
  const char *path;             /* the transfer's, not owned */
  uint64_t window;              /* the descriptor's offset: where the
                                 * window starts */
  bool is_block;
  unsigned sector_size;         /* block devices: logical block size */

  /* Zeroing methods found unsupported here: not tried again. */
  bool no_punch_hole;
  bool no_zero_range;
  bool no_blkzeroout;
  /* lseek SEEK_DATA/SEEK_HOLE unsupported: report everything as data. */
  bool no_seek_data;

  /* Early writeback (file_start_writeback): the range written before the
   * last one, whose writeback the next write waits for. */
  uint64_t written_offset, written_length;
  bool no_sync_file_range;

  /* Large writes around the page cache (backend-file-direct.c): the
   * O_DIRECT fd on the same inode, -1 until first used, and whether
   * direct writes were found not to work here. */
  int direct_fd;
  bool no_direct;

  /* What was opened (fstat at open), for a kept backend
   * (backend-file-keep.c) to tell whether the path still names it. */
  dev_t opened_dev;
  ino_t opened_ino;

  /* The path handed to the web server (file_data_path), owned. */
  char *handoff_path;
};

static inline struct file_backend *
to_file (struct backend *b)
{
  return (struct file_backend *) b;
}

/* The size of what fb->fd opened (st: its fstat): a regular file's
 * length, or a block device's (asked with ioctl; sets is_block and
 * sector_size).  -1 with error_set for anything else. */
int file_backend_size (struct file_backend *fb, const struct stat *st,
                       uint64_t *size);

/* backend-file-direct.c.  Where a write of count bytes from buf at the
 * file offset offset can go around the page cache: its first *head
 * bytes buffered, the next *middle bytes direct, the rest buffered
 * (*middle 0: all of it buffered). */
void file_direct_span (const struct file_backend *fb, const void *buf,
                       size_t count, uint64_t offset, size_t *head,
                       size_t *middle);
/* Write [buf, count) at offset directly.  Returns the bytes written,
 * which may be fewer (0 included) where direct writes turned out not to
 * work (the caller writes the rest buffered), or -1 with error_set. */
ssize_t file_direct_pwrite (struct file_backend *fb, const void *buf,
                            size_t count, uint64_t offset);
void file_direct_close (struct file_backend *fb);

/* "/proc/self/fd/N" of fb->fd: the kernel's name of the file opened,
 * whatever its path names now.  buf holds FILE_FD_NAME_MAX bytes. */
#define FILE_FD_NAME_MAX 32
void file_fd_name (const struct file_backend *fb, char *buf, size_t size);
/* Open the file fb->fd refers to again, with flags (O_CLOEXEC and
 * O_NOCTTY added), through that name.  The fd, or -1 with errno: ESTALE
 * when what opened is not that inode, ENOENT without /proc. */
int file_open_again (const struct file_backend *fb, int flags);

/* backend-file-keep.c: the fd kept between requests (backend.h). */
bool file_backend_can_keep (struct backend *b);
bool file_backend_reuse (struct backend *b, const struct transfer *t);

#endif
