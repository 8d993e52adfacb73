/* SPDX-License-Identifier: Apache-2.0 */
/* imagexfer-fcgi: the FastCGI program.
 *
 * Spawned by the web server (lighttpd bin-path, Apache mod_fcgid) it finds
 * the FastCGI socket on fd 0; as a daemon it binds --listen itself.
 * Either way a supervisor preforks the workers (supervisor.c).
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config-file.h"
#include "error.h"
#include "fastcgi-accept.h"
#include "log.h"
#include "supervisor.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "usage: imagexfer-fcgi [--config PATH] [--listen PATH|HOST:PORT]\n"
           "                      [--workers N] [--pid-file PATH]\n"
           "\n"
           "Serves the imagexfer /images and /api routes over FastCGI.\n"
           "\n"
           "Run it from a web server that passes the FastCGI socket on fd 0\n"
           "(lighttpd bin-path, Apache mod_fcgid), or as a daemon with\n"
           "--listen.  The config file is --config, else $IMAGEXFER_CONF,\n"
           "else %s/imagexfer/imagexfer.conf when present.\n"
           "\n"
           "  --config PATH    configuration file\n"
           "  --listen ADDR    bind a unix socket PATH or HOST:PORT\n"
           "  --workers N      worker processes (overrides the config)\n"
           "  --pid-file PATH  write the supervisor's pid there\n"
           "  --version        print the version\n"
           "  --help           this text\n",
           SYSCONFDIR);
}

/* libfcgi's OS_CreateLocalIpcFd binds both forms ("/path" and
 * "host:port"), with the permissions the umask allows; a unix socket is
 * made group-writable so a web server in the group can connect. */
static int
listen_on (const char *address)
{
  mode_t old_umask;
  int fd;

  if (address[0] == '/')
    unlink (address);           /* a stale socket from an earlier run */
  old_umask = umask (0007);
  fd = FCGX_OpenSocket (address, 128);
  umask (old_umask);
  if (fd < 0) {
    log_error ("cannot listen on %s: %m", address);
    return -1;
  }
  return fd;
}

static bool
fd_is_listening_socket (int fd)
{
  int accepting = 0;
  socklen_t len = sizeof accepting;

  return getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0
         && accepting;
}

/* The FastCGI socket: bound from --listen, else the one on fd 0.  The
 * workers read the same environment; an FCGI_WEB_SERVER_ADDRS they would
 * refuse is refused here, once, before any of them starts.  Returns the
 * socket, or -1 after logging why. */
static int
open_fastcgi_socket (const char *listen_address,
                     struct supervisor_options *options)
{
  struct fastcgi_listener listener;
  int listen_fd;

  if (listen_address) {
    listen_fd = listen_on (listen_address);
    if (listen_fd == -1)
      return -1;
    if (listen_address[0] == '/')
      options->listen_path = listen_address;
  }
  else {
    listen_fd = STDIN_FILENO;
    options->exit_with_parent = true;
  }
  if (fastcgi_listener_init (&listener, listen_fd) == -1) {
    log_error ("%s", error_message ());
    return -1;
  }
  if (listener.tcp)
    log_warning ("the FastCGI socket is TCP: every account and host that "
                 "can connect to it%s speaks as the web server, for any "
                 "client address (a unix socket limits that to the web "
                 "server's group); the administrator's mark is not "
                 "believed there, and admin_tcp = loopback answers only "
                 "connections from this machine",
                 listener.web_servers.count > 0
                 ? " from FCGI_WEB_SERVER_ADDRS" : "");
  return listen_fd;
}

static int
write_pid_file (const char *path)
{
  FILE *f = fopen (path, "w");

  if (!f) {
    log_error ("cannot write pid file %s: %m", path);
    return -1;
  }
  fprintf (f, "%d\n", (int) getpid ());
  return fclose (f);
}

int
main (int argc, char *argv[])
{
  enum { OPT_CONFIG = 256, OPT_LISTEN, OPT_WORKERS, OPT_PID_FILE,
         OPT_VERSION, OPT_HELP };
  static const struct option long_options[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct supervisor_options options = { 0 };
  const char *explicit_config = NULL, *listen_address = NULL;
  const char *pid_file = NULL;
  struct config cfg;
  int opt, listen_fd;

  while ((opt = getopt_long (argc, argv, "", long_options, NULL)) != -1) {
    switch (opt) {
    case OPT_CONFIG:
      explicit_config = optarg;
      break;
    case OPT_LISTEN:
      listen_address = optarg;
      break;
    case OPT_WORKERS: {
      char *end;
      long n = strtol (optarg, &end, 10);
      if (*end || n < 1 || n > CONFIG_MAX_WORKERS) {
        fprintf (stderr, "imagexfer-fcgi: --workers must be 1..%d\n",
                 CONFIG_MAX_WORKERS);
        return 2;
      }
      options.workers_override = (int) n;
      break;
    }
    case OPT_PID_FILE:
      pid_file = optarg;
      break;
    case OPT_VERSION:
      printf ("imagexfer-fcgi %s\n", PACKAGE_VERSION);
      return 0;
    case OPT_HELP:
      usage (stdout);
      return 0;
    default:
      usage (stderr);
      return 2;
    }
  }
  if (optind < argc) {
    usage (stderr);
    return 2;
  }

  if (!listen_address && !fd_is_listening_socket (STDIN_FILENO)) {
    fprintf (stderr, "imagexfer-fcgi: no FastCGI socket on fd 0 and no "
             "--listen given\n\n");
    usage (stderr);
    return 2;
  }

  options.argv = argv;
  options.config_path = config_choose_path (explicit_config);
  if (config_load (options.config_path, &cfg) == -1) {
    fprintf (stderr, "imagexfer-fcgi: %s\n", error_message ());
    return 1;
  }
  if (options.workers_override > 0)
    cfg.workers = (unsigned) options.workers_override;
  log_set_level (cfg.log_level);
  /* Without them every request would be 404 and every statistic lost,
   * with nothing said: better not to start. */
  {
    char why[PATH_MAX + 512];

    if (config_check_directories (&cfg, why, sizeof why) == -1) {
      fprintf (stderr, "imagexfer-fcgi: %s\n", why);
      config_free (&cfg);
      return 1;
    }
  }
  if (cfg.log_file && log_use_file (cfg.log_file) == -1) {
    fprintf (stderr, "imagexfer-fcgi: %s\n", error_message ());
    config_free (&cfg);
    return 1;
  }

  listen_fd = open_fastcgi_socket (listen_address, &options);
  if (listen_fd == -1 || (pid_file && write_pid_file (pid_file) == -1)) {
    config_free (&cfg);
    return 1;
  }

  int status = supervisor_run (listen_fd, &cfg, &options);
  config_free (&cfg);
  if (pid_file)
    unlink (pid_file);
  return status;
}
