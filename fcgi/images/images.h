/* SPDX-License-Identifier: Apache-2.0 */
/* The /images data plane (API.md section 2). */
#ifndef IMAGEXFER_IMAGES_H
#define IMAGEXFER_IMAGES_H

#include "config-file.h"
#include "request.h"

/* Entry point: the worker calls it for every path under /images. */
void images_handle (struct request *req, const struct config *cfg);

#endif
