/* SPDX-License-Identifier: Apache-2.0 */
/* The SIGBUS guard of the state file's mapping (stats-sigbus.h). */
#include <config.h>

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "stats-sigbus.h"

static void *volatile guarded_addr;
static volatile size_t guarded_size;
static volatile sig_atomic_t hit;

static void
on_sigbus (int sig, siginfo_t *info, void *context)
{
  uintptr_t fault = (uintptr_t) info->si_addr;
  uintptr_t start = (uintptr_t) guarded_addr;
  size_t size = guarded_size;
  struct sigaction dfl;

  (void) context;
  if (start != 0 && fault >= start && fault - start < size
      && mmap ((void *) start, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
         != MAP_FAILED) {
    hit = 1;
    return;
  }
  /* Not ours: returning re-runs the access with the default action. */
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);
  sigaction (sig, &dfl, NULL);
}

void
stats_sigbus_guard (void *addr, size_t size)
{
  static bool installed;

  if (!installed && addr) {
    struct sigaction sa;

    memset (&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGBUS, &sa, NULL);
    installed = true;
  }
  guarded_size = 0;
  guarded_addr = addr;
  guarded_size = addr ? size : 0;
  hit = 0;
}

bool
stats_sigbus_hit (void)
{
  return hit != 0;
}
