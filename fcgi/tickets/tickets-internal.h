/* SPDX-License-Identifier: Apache-2.0 */
/* The /tickets handlers (tickets.c, tickets-extend.c, tickets-cancel.c)
 * and what they share. */
#ifndef IMAGEXFER_TICKETS_INTERNAL_H
#define IMAGEXFER_TICKETS_INTERNAL_H

#include <json-c/json.h>
#include <sys/stat.h>

#include "config-file.h"
#include "request.h"

/* Control requests are small JSON documents (ImageIO's own limit for a
 * ticket is of this order too). */
#define TICKETS_BODY_MAX (64 * 1024)

/* The descriptor <spool_dir>/<id>.json as it was written (the ticket's
 * own fields), as a JSON object, and the file's stat in *sb (for
 * spool_update).  NULL with error_set: ENOENT when absent, EINVAL when
 * it is not a JSON object. */
json_object *tickets_read_object (const char *spool_dir, const char *id,
                                  struct stat *sb);

void tickets_extend (struct request *req, const struct config *cfg,
                     const char *id);
void tickets_cancel (struct request *req, const struct config *cfg,
                     const char *id);
void tickets_cancel_all (struct request *req, const struct config *cfg);

#endif
