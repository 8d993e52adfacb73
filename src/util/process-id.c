/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "process-id.h"

static atomic_int cached;       /* 0: not known in this process */
static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void
forget (void)
{
  atomic_store (&cached, 0);
}

static void
register_forget (void)
{
  pthread_atfork (NULL, NULL, forget);
}

pid_t
process_id (void)
{
  pid_t pid = (pid_t) atomic_load (&cached);

  if (pid == 0) {
    pthread_once (&registered, register_forget);
    pid = getpid ();
    atomic_store (&cached, (int) pid);
  }
  return pid;
}
