/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl: the operator's tool.  It reads the spool and the shared
 * state table directly, so it works without the web server, and uses
 * the same code as the management API (spool-admin.c,
 * transfer-status.c). */
#ifndef IMAGEXFER_CTL_H
#define IMAGEXFER_CTL_H

#include <stdbool.h>

#include "config-file.h"

struct ctl_command {
  const char *name;
  const char *synopsis;        /* after "imagexferctl NAME " */
  const char *help;            /* the rest of "help NAME" */
  int (*run) (const struct config *cfg, int argc, char **argv);
};

extern const struct ctl_command ctl_add, ctl_check, ctl_list, ctl_show,
  ctl_cancel, ctl_watch, ctl_extend, ctl_serve_cloudstack;

/* Print "imagexferctl NAME SYNOPSIS" and the help to stdout. */
void ctl_command_help (const struct ctl_command *c);
/* A usage error: message on stderr and a hint; returns 2. */
int ctl_usage_error (const struct ctl_command *c, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* True when argv has -h or --help (before "--"). */
bool ctl_wants_help (int argc, char **argv);

/* "1.5 GiB", "512 B". */
void ctl_format_size (char *buf, size_t size, unsigned long long bytes);
/* "3s", "2m05s", "1h02m". */
void ctl_format_duration (char *buf, size_t size, long long seconds);

#endif
