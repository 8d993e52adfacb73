/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup for locals, as in nbdkit and libnbd.
 *
 * A local declared CLEANUP_FREE is freed when it leaves scope, so early
 * returns cannot leak.  Transfer ownership by setting the variable to NULL.
 */
#ifndef IMAGEXFER_CLEANUP_H
#define IMAGEXFER_CLEANUP_H

#include <json-c/json.h>

void cleanup_free (void *ptr);
void cleanup_close (int *fd);
void cleanup_json_put (json_object **obj);

#define CLEANUP_FREE __attribute__ ((cleanup (cleanup_free)))
#define CLEANUP_CLOSE __attribute__ ((cleanup (cleanup_close)))
#define CLEANUP_JSON_PUT __attribute__ ((cleanup (cleanup_json_put)))

#endif
