/* SPDX-License-Identifier: Apache-2.0 */
/* The management plane (API.md section 3): /api/v1/... and
 * /api/v2/transfers. */
#ifndef IMAGEXFER_API_H
#define IMAGEXFER_API_H

#include "config-file.h"
#include "request.h"

/* Entry point: the worker calls it for every path under /api. */
void api_handle (struct request *req, const struct config *cfg);

#endif
