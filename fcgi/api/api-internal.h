/* SPDX-License-Identifier: Apache-2.0 */
/* The management API's handlers (api-metrics.c, api-transfers.c), for
 * the router (api.c).  What they share is api-response.h. */
#ifndef IMAGEXFER_API_INTERNAL_H
#define IMAGEXFER_API_INTERNAL_H

#include "config-file.h"
#include "request.h"

/* Handlers: each sends a complete response. */
void api_metrics (struct request *req, const struct config *cfg);
void api_metrics_backend (struct request *req, const struct config *cfg);
void api_metrics_inflight (struct request *req, const struct config *cfg);
/* GET /api/v1/metrics?format=prometheus (the caller checked the table). */
void api_prometheus (struct request *req, const struct config *cfg);
void api_transfers_list (struct request *req, const struct config *cfg);
void api_transfer_get (struct request *req, const struct config *cfg,
                       const char *id);
void api_transfer_put (struct request *req, const struct config *cfg,
                       const char *id);
void api_transfer_delete (struct request *req, const struct config *cfg,
                          const char *id);

#endif
