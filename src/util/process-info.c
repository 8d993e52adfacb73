/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/stat and /proc/PID/fd read into struct process_info, the
 * way the Prometheus client libraries compute their process metrics. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process-info.h"

/* The boot time, Unix seconds (the "btime" line of /proc/stat): start
 * times in /proc/PID/stat count from it. */
static long long
boot_time (void)
{
  FILE *f = fopen ("/proc/stat", "re");
  char line[256];
  long long btime = -1;

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "btime %lld", &btime) == 1)
      break;
  fclose (f);
  return btime;
}

static uint64_t
count_fds (pid_t pid)
{
  char path[64];
  DIR *dir;
  struct dirent *d;
  uint64_t n = 0;

  snprintf (path, sizeof path, "/proc/%d/fd", (int) pid);
  dir = opendir (path);
  if (dir == NULL)
    return 0;
  while ((d = readdir (dir)) != NULL)
    if (d->d_name[0] != '.')
      n++;
  closedir (dir);
  /* Our own count includes the directory we are reading. */
  return pid == getpid () && n > 0 ? n - 1 : n;
}

int
process_info_read (pid_t pid, struct process_info *out)
{
  char path[64], buf[1024];
  unsigned long long utime, stime, start_ticks;
  long long cutime, cstime, rss, btime;
  long ticks = sysconf (_SC_CLK_TCK), page = sysconf (_SC_PAGESIZE);
  const char *after_name;
  FILE *f;
  size_t n;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "re");
  if (f == NULL)
    return -1;
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: the fields
   * start after the last ')'.  Field 3 (state) comes first. */
  after_name = strrchr (buf, ')');
  if (after_name == NULL || ticks <= 0 || page <= 0
      || sscanf (after_name + 2,
                 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                 "%llu %llu %lld %lld %*d %*d %*d %*d %llu %*u %lld",
                 &utime, &stime, &cutime, &cstime, &start_ticks, &rss) != 6) {
    errno = EINVAL;
    return -1;
  }
  btime = boot_time ();
  out->cpu_seconds = (double) (utime + stime) / (double) ticks;
  out->children_cpu_seconds = (double) (cutime + cstime) / (double) ticks;
  out->resident_bytes = rss > 0 ? (uint64_t) rss * (uint64_t) page : 0;
  out->open_fds = count_fds (pid);
  out->start_time = btime < 0 ? 0
    : (double) btime + (double) start_ticks / (double) ticks;
  return 0;
}

int
process_children (pid_t pid, pid_t *out, size_t max)
{
  char path[64];
  FILE *f;
  long child;
  size_t n = 0;

  snprintf (path, sizeof path, "/proc/%d/task/%d/children", (int) pid,
            (int) pid);
  f = fopen (path, "re");
  if (f == NULL)
    return -1;
  while (n < max && fscanf (f, "%ld", &child) == 1)
    out[n++] = (pid_t) child;
  fclose (f);
  return (int) n;
}
