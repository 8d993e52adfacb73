/* SPDX-License-Identifier: Apache-2.0 */
/* oVirt ImageIO's control service, /tickets (API.md section 4): what
 * vdsm calls to add, inspect, extend and remove tickets.  A ticket is a
 * spool descriptor in ImageIO's dialect, so the data plane, status,
 * lifecycle and metrics need nothing of their own. */
#ifndef IMAGEXFER_TICKETS_H
#define IMAGEXFER_TICKETS_H

#include "config-file.h"
#include "request.h"

/* Entry point: the worker calls it for every path under /tickets. */
void tickets_handle (struct request *req, const struct config *cfg);

#endif
