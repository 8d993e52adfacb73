/* SPDX-License-Identifier: Apache-2.0 */
/* imagexferctl serve-cloudstack: CloudStack's image server control
 * socket, so that the CloudStack agent drives imagexfer unchanged.
 *
 * One process, one poll loop: each client sends one line and gets one
 * line back, then the connection closes (cloudstack-control.c says what
 * a line means).  Bounded: at most MAX_CLIENTS connections at once
 * (more wait in the listen backlog), CLOUDSTACK_LINE_MAX bytes a line,
 * and a client has --timeout seconds from its connection to the end of
 * its line, so one that sends nothing, or drips, holds nothing for
 * long, and none waits on another.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cloudstack-control.h"
#include "config-file.h"
#include "ctl.h"
#include "log.h"
#include "monotonic.h"
#include "stats.h"

#define MAX_CLIENTS 64
#define DEFAULT_TIMEOUT 10

struct client {
  int fd;
  int64_t deadline_ms;        /* dropped then if its line is not whole */
  size_t len;
  char *buf;                  /* CLOUDSTACK_LINE_MAX + 1, NUL-terminated */
};

static volatile sig_atomic_t stop_signal;

static void
on_stop (int sig)
{
  stop_signal = sig;
}

/* A stale socket from an earlier run is replaced; a live one (another
 * server answers on it) or any other kind of file is not. */
static int
clear_socket_path (const struct sockaddr_un *addr)
{
  struct stat st;
  int fd, r;

  if (lstat (addr->sun_path, &st) == -1)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISSOCK (st.st_mode)) {
    fprintf (stderr, "imagexferctl serve-cloudstack: %s exists and is not "
             "a socket\n", addr->sun_path);
    return -1;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -1;
  r = connect (fd, (const struct sockaddr *) addr, sizeof *addr);
  close (fd);
  if (r == 0) {
    fprintf (stderr, "imagexferctl serve-cloudstack: %s: another server is "
             "listening there\n", addr->sun_path);
    return -1;
  }
  return unlink (addr->sun_path);
}

/* Bind path with mode and group: created 0600 (no moment when others
 * could connect), then given its group and mode. */
static int
listen_socket (const char *path, mode_t mode, gid_t group)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  mode_t old_umask;
  int fd, r;

  if (strlen (path) >= sizeof addr.sun_path) {
    fprintf (stderr, "imagexferctl serve-cloudstack: socket path longer "
             "than %zu bytes: %s\n", sizeof addr.sun_path - 1, path);
    return -1;
  }
  strcpy (addr.sun_path, path);
  if (clear_socket_path (&addr) == -1) {
    if (errno)
      fprintf (stderr, "imagexferctl serve-cloudstack: %s: %m\n", path);
    return -1;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1)
    goto fail;
  old_umask = umask (0177);
  r = bind (fd, (struct sockaddr *) &addr, sizeof addr);
  umask (old_umask);
  if (r == -1)
    goto fail;
  if ((group != (gid_t) -1 && chown (path, (uid_t) -1, group) == -1)
      || chmod (path, mode) == -1 || listen (fd, 128) == -1) {
    int saved = errno;

    unlink (path);
    errno = saved;
    goto fail;
  }
  return fd;

 fail:
  fprintf (stderr, "imagexferctl serve-cloudstack: %s: %m\n", path);
  if (fd >= 0)
    close (fd);
  return -1;
}

static void
client_close (struct client *c)
{
  close (c->fd);
  free (c->buf);
  c->fd = -1;
  c->buf = NULL;
}

/* Best effort: the answer is one short line into an empty socket
 * buffer; a client that has gone simply does not get it. */
static void
client_answer (struct client *c, char *answer)
{
  if (answer) {
    size_t n = strlen (answer);

    answer[n] = '\n';        /* over the NUL: the length is known */
    if (send (c->fd, answer, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
      log_debug ("cloudstack: answer not sent: %m");
    free (answer);
  }
  else
    log_error ("cloudstack: out of memory answering a request");
  client_close (c);
}

/* Read what is there; answer once the line is whole. */
static void
client_read (const struct config *cfg, struct client *c)
{
  for (;;) {
    ssize_t n = recv (c->fd, c->buf + c->len, CLOUDSTACK_LINE_MAX - c->len,
                      MSG_DONTWAIT);
    char *newline;

    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      log_debug ("cloudstack: client read: %m");
      client_close (c);
      return;
    }
    if (n == 0) {
      /* A client that shuts down its side after the line has said
       * it all; one that closes having sent nothing gets nothing. */
      if (c->len == 0) {
        client_close (c);
        return;
      }
      break;
    }
    newline = memchr (c->buf + c->len, '\n', (size_t) n);
    c->len += (size_t) n;
    if (newline) {
      c->len = (size_t) (newline - c->buf);
      break;
    }
    if (c->len == CLOUDSTACK_LINE_MAX) {
      char message[64];

      snprintf (message, sizeof message, "request line too long (the limit "
                "is %d bytes)", CLOUDSTACK_LINE_MAX);
      log_warning ("cloudstack: %s", message);
      client_answer (c, cloudstack_error (message));
      return;
    }
  }
  c->buf[c->len] = '\0';
  /* The server may have started (and made its table) after us. */
  if (!stats_attached ())
    stats_attach_existing (cfg->state_dir);
  client_answer (c, cloudstack_answer (cfg, c->buf, c->len));
}

static void
accept_clients (int listen_fd, struct client *clients, unsigned timeout)
{
  for (size_t i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    int fd;

    if (c->fd >= 0)
      continue;
    fd = accept4 (listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd == -1) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        log_warning ("cloudstack: accept: %m");
      return;
    }
    c->buf = malloc (CLOUDSTACK_LINE_MAX + 1);
    if (c->buf == NULL) {
      log_error ("cloudstack: out of memory for a connection");
      close (fd);
      return;
    }
    c->fd = fd;
    c->len = 0;
    c->deadline_ms = monotonic_ms () + (int64_t) timeout * 1000;
  }
}

static int
serve (const struct config *cfg, int listen_fd, unsigned timeout)
{
  static struct client clients[MAX_CLIENTS];
  struct pollfd fds[MAX_CLIENTS + 1];
  struct client *polled[MAX_CLIENTS + 1];
  sigset_t blocked, none;

  for (size_t i = 0; i < MAX_CLIENTS; i++)
    clients[i].fd = -1;
  sigemptyset (&blocked);
  sigaddset (&blocked, SIGTERM);
  sigaddset (&blocked, SIGINT);
  sigaddset (&blocked, SIGHUP);
  sigprocmask (SIG_BLOCK, &blocked, &none);

  while (!stop_signal) {
    int64_t now = monotonic_ms (), wait_ms = -1;
    size_t n = 0, busy = 0;
    struct timespec ts;

    for (size_t i = 0; i < MAX_CLIENTS; i++) {
      struct client *c = &clients[i];

      if (c->fd < 0)
        continue;
      if (now >= c->deadline_ms) {
        log_warning ("cloudstack: a client sent no whole request in %u s, "
                     "dropped", timeout);
        client_answer (c, cloudstack_error ("timed out waiting for the "
                                            "request"));
        continue;
      }
      if (wait_ms < 0 || c->deadline_ms - now < wait_ms)
        wait_ms = c->deadline_ms - now;
      fds[n] = (struct pollfd) { .fd = c->fd, .events = POLLIN };
      polled[n++] = c;
      busy++;
    }
    /* When full, new connections wait in the backlog. */
    if (busy < MAX_CLIENTS) {
      fds[n] = (struct pollfd) { .fd = listen_fd, .events = POLLIN };
      polled[n++] = NULL;
    }
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = (wait_ms % 1000) * 1000000;
    if (ppoll (fds, n, wait_ms < 0 ? NULL : &ts, &none) == -1) {
      if (errno == EINTR)
        continue;
      log_error ("cloudstack: poll: %m");
      return 1;
    }
    for (size_t i = 0; i < n; i++) {
      if (fds[i].revents == 0)
        continue;
      if (polled[i] == NULL)
        accept_clients (listen_fd, clients, timeout);
      else
        client_read (cfg, polled[i]);
    }
  }
  for (size_t i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0)
      client_close (&clients[i]);
  sigprocmask (SIG_SETMASK, &none, NULL);
  return 0;
}

static int
run_serve (const struct config *cfg, int argc, char **argv)
{
  enum { O_SOCKET = 256, O_MODE, O_GROUP, O_TIMEOUT };
  static const struct option options[] = {
    { "socket", required_argument, NULL, O_SOCKET },
    { "mode", required_argument, NULL, O_MODE },
    { "group", required_argument, NULL, O_GROUP },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { NULL, 0, NULL, 0 },
  };
  const char *path = NULL;
  mode_t mode = 0660;
  gid_t group = (gid_t) -1;
  unsigned timeout = DEFAULT_TIMEOUT;
  struct sigaction sa;
  char why[256];
  int opt, listen_fd, r;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
    char *end;
    long v;

    switch (opt) {
    case O_SOCKET:
      path = optarg;
      break;
    case O_MODE:
      v = strtol (optarg, &end, 8);
      if (*end || end == optarg || v < 0 || v > 0777)
        return ctl_usage_error (&ctl_serve_cloudstack, "--mode: an octal "
                                "mode such as 0660");
      mode = (mode_t) v;
      break;
    case O_GROUP: {
      struct group *g = getgrnam (optarg);

      if (g == NULL)
        return ctl_usage_error (&ctl_serve_cloudstack, "--group: no such "
                                "group: %s", optarg);
      group = g->gr_gid;
      break;
    }
    case O_TIMEOUT:
      v = strtol (optarg, &end, 10);
      if (*end || end == optarg || v < 1 || v > 3600)
        return ctl_usage_error (&ctl_serve_cloudstack, "--timeout: 1 to "
                                "3600 seconds");
      timeout = (unsigned) v;
      break;
    default:
      return ctl_usage_error (&ctl_serve_cloudstack, "bad option");
    }
  }
  if (path == NULL || optind != argc)
    return ctl_usage_error (&ctl_serve_cloudstack, "expected --socket PATH");
  /* Registrations would fail one by one; say it once, now. */
  if (!config_directory_usable (cfg->spool_dir, why, sizeof why)) {
    fprintf (stderr, "imagexferctl serve-cloudstack: spool_dir %s: %s\n",
             cfg->spool_dir, why);
    return 1;
  }

  log_set_level (cfg->log_level);
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  /* Its terminal gone: stop cleanly too (nothing to re-read). */
  sigaction (SIGHUP, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);

  listen_fd = listen_socket (path, mode, group);
  if (listen_fd == -1)
    return 1;
  log_info ("cloudstack: control socket %s, spool %s", path, cfg->spool_dir);
  r = serve (cfg, listen_fd, timeout);
  close (listen_fd);
  unlink (path);
  log_info ("cloudstack: stopped (signal %d)", (int) stop_signal);
  return r;
}

const struct ctl_command ctl_serve_cloudstack = {
  .name = "serve-cloudstack",
  .synopsis = "--socket PATH [--mode MODE] [--group GROUP] "
              "[--timeout SECONDS]",
  .help =
  "Serve CloudStack's image server control protocol on a unix socket, so\n"
  "the CloudStack agent drives imagexfer unchanged: each connection sends\n"
  "one JSON line and gets one back.  register writes the transfer into the\n"
  "spool (replacing an earlier one of the same id), unregister cancels it,\n"
  "status counts the transfers that accept requests.  Runs until SIGTERM,\n"
  "SIGINT or SIGHUP, then removes the socket.\n"
  "\n"
  "  --socket PATH       where to listen (a stale socket is replaced)\n"
  "  --mode MODE         the socket's permissions (default 0660): who may\n"
  "                      connect may create transfers of any image\n"
  "  --group GROUP       the socket's group (default: this process's)\n"
  "  --timeout SECONDS   a client must send its line within this time\n"
  "                      of connecting (default 10)\n",
  .run = run_serve,
};
