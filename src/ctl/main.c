/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl [--config PATH] COMMAND [ARGS]: dispatch and help. */
#include <config.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "error.h"
#include "log.h"
#include "stats.h"
#include "transfer.h"

static const struct ctl_command *const commands[] = {
  &ctl_add, &ctl_check, &ctl_list, &ctl_show, &ctl_cancel, &ctl_watch,
  &ctl_extend, &ctl_serve_cloudstack,
};
#define NR_COMMANDS (sizeof commands / sizeof commands[0])

static const struct ctl_command *
find_command (const char *name)
{
  for (size_t i = 0; i < NR_COMMANDS; i++)
    if (strcmp (commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

static void
usage (FILE *f)
{
  fprintf (f,
           "Usage: imagexferctl [--config PATH] COMMAND [ARGS]\n"
           "\n"
           "Manage imagexfer transfers: reads the spool and the shared\n"
           "state directly (the web server need not run).\n"
           "\n"
           "Commands:\n");
  for (size_t i = 0; i < NR_COMMANDS; i++)
    fprintf (f, "  %-7s %s\n", commands[i]->name, commands[i]->synopsis);
  fprintf (f,
           "  help    [COMMAND]\n"
           "\n"
           "Options:\n"
           "  --config PATH  configuration file (default: $IMAGEXFER_CONF,\n"
           "                 else " SYSCONFDIR "/imagexfer/imagexfer.conf)\n"
           "  --help         this help; COMMAND --help for a command's\n"
           "  --version      print the version\n");
}

void
ctl_command_help (const struct ctl_command *c)
{
  printf ("Usage: imagexferctl %s %s\n\n%s", c->name, c->synopsis, c->help);
}

int
ctl_usage_error (const struct ctl_command *c, const char *fmt, ...)
{
  va_list args;

  fprintf (stderr, "imagexferctl%s%s: ", c ? " " : "", c ? c->name : "");
  va_start (args, fmt);
  vfprintf (stderr, fmt, args);
  va_end (args);
  fprintf (stderr, "\nTry 'imagexferctl %s%s--help'.\n", c ? c->name : "",
           c ? " " : "");
  return 2;
}

bool
ctl_wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--") == 0)
      return false;
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
      return true;
  }
  return false;
}

void
ctl_format_size (char *buf, size_t size, unsigned long long bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = (double) bytes;
  int u = -1;

  if (bytes < 1024) {
    snprintf (buf, size, "%llu B", bytes);
    return;
  }
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  snprintf (buf, size, "%.1f %s", v, units[u]);
}

void
ctl_format_duration (char *buf, size_t size, long long s)
{
  if (s < 60)
    snprintf (buf, size, "%llds", s);
  else if (s < 3600)
    snprintf (buf, size, "%lldm%02llds", s / 60, s % 60);
  else
    snprintf (buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
}

int
main (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  const char *config_path = NULL;
  const struct ctl_command *c;
  struct config cfg;
  int opt, r;

  /* Options before the command only; the command parses its own. */
  while ((opt = getopt_long (argc, argv, "+hc:", long_options, NULL)) != -1) {
    switch (opt) {
    case 'c':
      config_path = optarg;
      break;
    case 'h':
      usage (stdout);
      return 0;
    case 'V':
      printf ("imagexferctl %s\n", PACKAGE_VERSION);
      return 0;
    default:
      fprintf (stderr, "Try 'imagexferctl --help'.\n");
      return 2;
    }
  }
  if (optind >= argc) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[optind], "help") == 0) {
    if (optind + 1 >= argc) {
      usage (stdout);
      return 0;
    }
    c = find_command (argv[optind + 1]);
    if (c == NULL)
      return ctl_usage_error (NULL, "unknown command '%s'", argv[optind + 1]);
    ctl_command_help (c);
    return 0;
  }
  c = find_command (argv[optind]);
  if (c == NULL)
    return ctl_usage_error (NULL, "unknown command '%s'", argv[optind]);
  if (ctl_wants_help (argc - optind, argv + optind)) {
    ctl_command_help (c);
    return 0;
  }

  log_set_level (LOG_LEVEL_WARNING);
  if (config_load (config_choose_path (config_path), &cfg) == -1) {
    fprintf (stderr, "imagexferctl: %s\n", error_message ());
    return 1;
  }
  /* Descriptors read and checked here follow the workers' rules. */
  transfer_set_image_roots ((const char *const *) cfg.image_roots);
  /* Counters are optional: without the table status shows zeros. */
  stats_attach_existing (cfg.state_dir);
  {
    int first = optind;

    optind = 0;                /* the command runs getopt again */
    r = c->run (&cfg, argc - first, argv + first);
  }
  stats_detach ();
  config_free (&cfg);
  return r;
}
