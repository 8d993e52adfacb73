/* SPDX-License-Identifier: Apache-2.0 */
/* What the kernel says of a process (/proc/PID), for the Prometheus
 * process metrics: CPU time, resident memory, open files, start. */
#ifndef IMAGEXFER_PROCESS_INFO_H
#define IMAGEXFER_PROCESS_INFO_H

#include <stdint.h>
#include <sys/types.h>

struct process_info {
  double cpu_seconds;          /* user + system, this process alone */
  double children_cpu_seconds; /* of its children it has waited for */
  uint64_t resident_bytes;
  uint64_t open_fds;           /* 0 when /proc/PID/fd is not readable */
  double start_time;           /* Unix seconds */
};

/* Returns 0 and fills out, or -1 (errno set) when the process is gone
 * or /proc cannot say. */
int process_info_read (pid_t pid, struct process_info *out);

/* The children of pid (/proc/PID/task/PID/children): up to max pids in
 * out.  Returns how many, or -1 when the kernel does not say. */
int process_children (pid_t pid, pid_t *out, size_t max);

#endif
