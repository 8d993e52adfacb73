/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend's location: what a descriptor says about a raw file
 * or block device.  Private to backend-file*.c. */
#ifndef IMAGEXFER_BACKEND_FILE_H
#define IMAGEXFER_BACKEND_FILE_H

#include <stdint.h>

#include "backend.h"

/* backend-file.c: the ops; backend-file-descriptor.c: the registry row. */
extern const struct backend_ops backend_file_ops;

struct file_location {
  char *path;                   /* absolute path of the file or device */
  uint64_t offset;              /* the window's start inside it */
};

#endif
