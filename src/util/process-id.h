/* SPDX-License-Identifier: Apache-2.0 */
/* This process's id without a system call each time.
 *
 * glibc no longer caches getpid, and the log and the shared state table
 * ask for it several times per request.  The cached value is forgotten
 * in a child after fork (pthread_atfork). */
#ifndef IMAGEXFER_PROCESS_ID_H
#define IMAGEXFER_PROCESS_ID_H

#include <sys/types.h>

pid_t process_id (void);

#endif
