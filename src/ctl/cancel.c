/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl cancel: remove a transfer from the spool.  Requests in
 * flight stop at their next chunk; new ones get 403. */
#include <config.h>

#include <errno.h>
#include <stdio.h>

#include "ctl.h"
#include "error.h"
#include "spool-admin.h"

static int
run_cancel (const struct config *cfg, int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return ctl_usage_error (&ctl_cancel, "expected one ID");
  if (spool_cancel (cfg->spool_dir, argv[1]) == -1) {
    fprintf (stderr, "imagexferctl cancel: %s\n", error_message ());
    return 1;
  }
  printf ("cancelled %s\n", argv[1]);
  return 0;
}

const struct ctl_command ctl_cancel = {
  .name = "cancel",
  .synopsis = "ID",
  .help =
  "Cancel a transfer: its descriptor is removed from the spool.  Requests\n"
  "in flight stop with an error at their next chunk; what they wrote\n"
  "before stays written.  Exit status 1 if there is no such transfer.\n",
  .run = run_cancel,
};
