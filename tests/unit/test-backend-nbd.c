/* SPDX-License-Identifier: Apache-2.0 */
/* The NBD backend (src/backend/backend-nbd*.c) against real servers: nbdkit and
 * qemu-nbd started by this test on unix sockets in a temporary
 * directory, stopped at the end of each case (and at exit whatever
 * happens).  The expected extents come from other tools (qemu-img map)
 * or from aligned writes whose effect is exact.  Missing tools skip
 * their cases with a reason.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-nbd.h"
#include "backend-registry.h"
#include "config-file.h"
#include "checksum.h"
#include "error.h"
#include "extents.h"
#include "extents-check.h"
#include "tap.h"

#define KiB (UINT64_C (1024))
#define MiB (UINT64_C (1024) * 1024)
#define GiB (UINT64_C (1024) * 1024 * 1024)
#define TiB (UINT64_C (1024) * 1024 * 1024 * 1024)

/* Server start-up and shutdown are bounded. */
#define SERVER_START_TIMEOUT_MS 10000
#define SERVER_STOP_TIMEOUT_MS 5000

static char tmpdir[] = "/tmp/test-backend-nbd.XXXXXX";
static pid_t server_pid = -1;
static char server_socket[256];

static void
skip (const char *why)
{
  printf ("ok %d - # SKIP %s\n", ++tap_count, why);
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool
have_program (const char *name)
{
  char cmd[256];

  snprintf (cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system (cmd) == 0;
}

static bool
run (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Run a shell command in tmpdir, its output discarded. */
static bool
run (const char *fmt, ...)
{
  char cmd[2048], full[2400];
  va_list args;
  int r;

  va_start (args, fmt);
  vsnprintf (cmd, sizeof cmd, fmt, args);
  va_end (args);
  snprintf (full, sizeof full, "cd %s && (%s) >/dev/null 2>&1", tmpdir, cmd);
  r = system (full);
  if (r != 0)
    fprintf (stderr, "# command failed (%d): %s\n", r, cmd);
  return r == 0;
}

/* Paths here are short (a /tmp directory); refuse rather than cut. */
static bool
set_sun_path (struct sockaddr_un *addr, const char *path)
{
  size_t len = strlen (path);

  if (len >= sizeof addr->sun_path)
    return false;
  memcpy (addr->sun_path, path, len + 1);
  return true;
}

static bool
socket_accepts (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok;

  ok = fd >= 0 && set_sun_path (&addr, path)
    && connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  if (fd >= 0)
    close (fd);
  return ok;
}

static void
stop_server (void)
{
  int status, waited = 0;

  if (server_pid <= 0)
    return;
  kill (server_pid, SIGTERM);
  while (waitpid (server_pid, &status, WNOHANG) == 0) {
    if (waited >= SERVER_STOP_TIMEOUT_MS) {
      kill (server_pid, SIGKILL);
      waitpid (server_pid, &status, 0);
      break;
    }
    usleep (10000);
    waited += 10;
  }
  server_pid = -1;
  unlink (server_socket);
}

/* Start argv (NULL-terminated; "SOCK" is replaced by the socket path)
 * and wait until its socket accepts connections.  The first connection
 * is nbdkit's and qemu-nbd's problem, not ours: both serve many (-t). */
static bool
start_server (const char *const *argv)
{
  const char *args[32];
  char log[300];
  size_t i;
  int waited = 0, status;

  stop_server ();
  snprintf (server_socket, sizeof server_socket, "%s/nbd.sock", tmpdir);
  snprintf (log, sizeof log, "%s/server.log", tmpdir);
  unlink (log);
  for (i = 0; argv[i] != NULL && i < 31; i++)
    args[i] = strcmp (argv[i], "SOCK") == 0 ? server_socket : argv[i];
  args[i] = NULL;

  fflush (stdout);
  server_pid = fork ();
  if (server_pid == -1) {
    perror ("fork");
    exit (EXIT_FAILURE);
  }
  if (server_pid == 0) {
    int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);

    if (fd >= 0) {
      dup2 (fd, STDOUT_FILENO);
      dup2 (fd, STDERR_FILENO);
    }
    if (chdir (tmpdir) == -1)
      _exit (126);
    execvp (args[0], (char **) args);
    _exit (127);
  }
  while (!socket_accepts (server_socket)) {
    if (waitpid (server_pid, &status, WNOHANG) == server_pid) {
      char cmd[400];

      fprintf (stderr, "# %s exited at start-up:\n", args[0]);
      snprintf (cmd, sizeof cmd, "sed 's/^/#   /' %s >&2", log);
      if (system (cmd) != 0)
        fprintf (stderr, "# (no log)\n");
      server_pid = -1;
      return false;
    }
    if (waited >= SERVER_START_TIMEOUT_MS) {
      fprintf (stderr, "# %s did not start in time\n", args[0]);
      stop_server ();
      return false;
    }
    usleep (10000);
    waited += 10;
  }
  return true;
}

static struct nbd_location *
nbd_location (struct transfer *t)
{
  return t->location;
}

static void
nbd_transfer (struct transfer *t, const char *socket_path)
{
  /* One NBD transfer at a time: its location lives here. */
  static struct nbd_location location;

  memset (t, 0, sizeof *t);
  memset (&location, 0, sizeof location);
  strcpy (t->id, "nbd-test");
  t->type = backend_type_find ("nbd");
  t->location = &location;
  location.socket = (char *) socket_path;
  location.export_name = (char *) "";
  t->ops = TRANSFER_OP_READ | TRANSFER_OP_WRITE;
  t->sparse = true;
}

static struct backend *
open_server (struct transfer *t, bool writable)
{
  struct backend *b;

  nbd_transfer (t, server_socket);
  b = backend_open (t, writable);
  if (b == NULL)
    fprintf (stderr, "# backend_open: %s\n", error_message ());
  return b;
}

static void
fill_pattern (char *buf, size_t len, unsigned seed)
{
  randombytes_buf_deterministic (buf, len,
                                 (const unsigned char[32]) { seed, 1, 2, 3 });
}

/* Extents of [0, size) for context, in steps as a route would ask. */
static int
all_extents (struct backend *b, enum extents_context context,
             struct extent_list *list)
{
  extent_list_clear (list);
  return backend_extents (b, context, b->size, 0, list);
}

/* Round trips at odd offsets, checked against a shadow copy. */
static void
test_memory_io (void)
{
  static const struct {
    uint64_t offset, length;
  } writes[] = {
    { 0, 1 }, { 1, 4095 }, { 12345, 100000 }, { MiB - 3, 7 },
    { 3 * MiB + 17, 5 * MiB + 3 },        /* pipelined */
    { 20 * MiB + 511, 33 * MiB + 1 },     /* split by backend.c, then piped */
    { 64 * MiB - 1, 1 }, { 64 * MiB - 4097, 4096 }, { 700 * KiB + 1, 1 },
  };
  static const struct {
    uint64_t offset, length;
    bool sparse;
  } zeroes[] = {
    { 5, 3, true }, { 3 * MiB, 2 * MiB + 5, true },
    { 30 * MiB + 1, MiB, false },
    { 40 * MiB, 8 * MiB, true }, { 64 * MiB - 2, 2, false },
  };
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "memory", "64M", NULL };
  const uint64_t size = 64 * MiB;
  struct transfer t;
  struct backend *b;
  char *shadow = calloc (1, size), *buf = malloc (size);
  size_t i;
  int r;

  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "memory: start nbdkit and open");
    goto out;
  }
  tap_ok (b->size == size, "memory: size %" PRIu64, b->size);
  tap_ok (backend_can_write (b) == 1 && backend_can_zero (b) == 1
          && backend_can_flush (b) == 1 && backend_can_extents (b) == 1
          && backend_can_dirty (b) == 0,
          "memory: can write, zero, flush, extents; no dirty bitmap");
  tap_ok (b->max_request == 32 * MiB, "memory: max_request %" PRIu64,
          b->max_request);

  for (i = 0; i < sizeof writes / sizeof writes[0]; i++) {
    char *p = shadow + writes[i].offset;

    fill_pattern (p, writes[i].length, (unsigned) i);
    r = backend_pwrite (b, p, writes[i].length, writes[i].offset);
    memset (buf, 0xaa, writes[i].length);
    if (r == 0)
      r = backend_pread (b, buf, writes[i].length, writes[i].offset);
    tap_ok (r == 0 && memcmp (buf, p, writes[i].length) == 0,
            "memory: write+read %" PRIu64 " bytes at %" PRIu64 "%s%s",
            writes[i].length, writes[i].offset, r ? ": " : "",
            r ? error_message () : "");
  }
  for (i = 0; i < sizeof zeroes / sizeof zeroes[0]; i++) {
    t.sparse = zeroes[i].sparse;
    r = backend_zero (b, zeroes[i].length, zeroes[i].offset);
    memset (shadow + zeroes[i].offset, 0, zeroes[i].length);
    memset (buf, 0xaa, zeroes[i].length);
    if (r == 0)
      r = backend_pread (b, buf, zeroes[i].length, zeroes[i].offset);
    tap_ok (r == 0 && memcmp (buf, shadow + zeroes[i].offset,
                              zeroes[i].length) == 0,
            "memory: zero (%s) %" PRIu64 " bytes at %" PRIu64 " reads zero",
            zeroes[i].sparse ? "trim" : "no hole", zeroes[i].length,
            zeroes[i].offset);
  }
  t.sparse = true;
  tap_ok (backend_flush (b) == 0, "memory: flush");
  r = backend_pread (b, buf, size, 0);
  tap_ok (r == 0 && memcmp (buf, shadow, size) == 0,
          "memory: the whole export equals the shadow copy");
  r = backend_pread (b, buf, 2, size - 1);
  tap_ok (r == -1 && errno == ERANGE, "memory: read past the end is ERANGE");
  backend_close (b);
 out:
  stop_server ();
  free (shadow);
  free (buf);
}

/* Aligned writes and zeroes on the memory plugin: exact zero extents. */
static void
test_memory_extents (void)
{
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "memory", "16M", NULL };
  struct extent_list got, want;
  struct transfer t;
  struct backend *b;
  char *data = malloc (4 * MiB);

  extent_list_init (&got);
  extent_list_init (&want);
  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "memory extents: start nbdkit and open");
    goto out;
  }
  fill_pattern (data, 4 * MiB, 7);
  tap_ok (all_extents (b, EXTENTS_CONTEXT_ZERO, &got) == 0
          && got.count == 1 && got.items[0].length == 16 * MiB
          && got.items[0].flags == EXTENT_ZERO,
          "memory extents: fresh export is one zero extent");
  tap_ok (backend_pwrite (b, data, 4 * MiB, 2 * MiB) == 0
          && backend_pwrite (b, data, MiB, 12 * MiB) == 0
          && backend_zero (b, MiB, 3 * MiB) == 0,
          "memory extents: write, zero");
  extent_list_append (&want, 0, 2 * MiB, EXTENT_ZERO);
  extent_list_append (&want, 2 * MiB, MiB, 0);
  extent_list_append (&want, 3 * MiB, MiB, EXTENT_ZERO);
  extent_list_append (&want, 4 * MiB, 2 * MiB, 0);
  extent_list_append (&want, 6 * MiB, 6 * MiB, EXTENT_ZERO);
  extent_list_append (&want, 12 * MiB, MiB, 0);
  extent_list_append (&want, 13 * MiB, 3 * MiB, EXTENT_ZERO);
  tap_ok (all_extents (b, EXTENTS_CONTEXT_ZERO, &got) == 0
          && extents_equal (&got, want.items, want.count,
                            "memory zero extents"),
          "memory extents: zero context exact after write and zero");

  /* A sub-range: exactly what is asked, starting mid-extent. */
  extent_list_clear (&got);
  extent_list_clear (&want);
  extent_list_append (&want, 2 * MiB + 5, MiB - 5, 0);
  extent_list_append (&want, 3 * MiB, MiB, EXTENT_ZERO);
  extent_list_append (&want, 4 * MiB, 7, 0);
  tap_ok (backend_extents (b, EXTENTS_CONTEXT_ZERO, 2 * MiB + 2,
                           2 * MiB + 5, &got) == 0
          && extents_equal (&got, want.items, want.count,
                            "memory sub-range"),
          "memory extents: a sub-range is described exactly");

  /* No bitmap: dirty answers the allocation, everything dirty. */
  tap_ok (all_extents (b, EXTENTS_CONTEXT_DIRTY, &got) == 0
          && got.count == 7
          && got.items[0].flags == (EXTENT_ZERO | EXTENT_DIRTY)
          && got.items[1].flags == EXTENT_DIRTY,
          "memory extents: dirty without a bitmap is allocation, all dirty");
  backend_close (b);
 out:
  stop_server ();
  extent_list_free (&got);
  extent_list_free (&want);
  free (data);
}

/* Expected zero-context extents from `qemu-img map --output=json`:
 * zero from "zero", hole where nothing in the chain is allocated
 * ("present": false, which is qemu:allocation-depth 0). */
static bool
qemu_img_map (const char *image, struct extent_list *want)
{
  char cmd[1024], *text = NULL;
  size_t len = 0;
  FILE *fp, *out;
  json_object *map;
  size_t i;
  bool ok = false;

  snprintf (cmd, sizeof cmd, "cd %s && qemu-img map --output=json '%s'",
            tmpdir, image);
  fp = popen (cmd, "r");
  out = open_memstream (&text, &len);
  if (fp == NULL || out == NULL)
    return false;
  for (int c; (c = fgetc (fp)) != EOF; )
    fputc (c, out);
  pclose (fp);
  fclose (out);
  map = json_tokener_parse (text);
  if (map == NULL || !json_object_is_type (map, json_type_array))
    goto out;
  extent_list_clear (want);
  for (i = 0; i < json_object_array_length (map); i++) {
    json_object *e = json_object_array_get_idx (map, i), *v;
    uint64_t start, length;
    unsigned flags = 0;

    json_object_object_get_ex (e, "start", &v);
    start = json_object_get_int64 (v);
    json_object_object_get_ex (e, "length", &v);
    length = json_object_get_int64 (v);
    if (json_object_object_get_ex (e, "zero", &v)
        && json_object_get_boolean (v))
      flags |= EXTENT_ZERO;
    if (json_object_object_get_ex (e, "present", &v)
        && !json_object_get_boolean (v))
      flags |= EXTENT_HOLE;
    if (extent_list_append (want, start, length, flags) == -1)
      goto out;
  }
  ok = want->count > 0;
 out:
  json_object_put (map);
  free (text);
  return ok;
}

/* qcow2 over a backing file: hole only where no layer has the data
 * (qemu:allocation-depth 0).  A raw base counts as allocated everywhere;
 * a qcow2 base has unallocated clusters. */
static void
test_qcow2_backing (void)
{
  const char *argv[] = { "qemu-nbd", "-t", "-A", "-f", "qcow2", "-k", "SOCK",
                         "top.qcow2", NULL };
  /* The layer alone, as ImageIO exports a snapshot: backing cut off. */
  const char *layer = "json:{\"driver\":\"qcow2\",\"backing\":null,"
    "\"file\":{\"driver\":\"file\",\"filename\":\"top.qcow2\"}}";
  const char *argv_layer[] = { "qemu-nbd", "-t", "-A", "-k", "SOCK", layer,
                               NULL };
  static const char *const base_formats[] = { "raw", "qcow2" };
  struct extent_list got, want, exact;
  struct transfer t;
  struct backend *b;
  size_t i;

  extent_list_init (&got);
  extent_list_init (&want);
  extent_list_init (&exact);
  if (!have_program ("qemu-nbd") || !have_program ("qemu-img")
      || !have_program ("qemu-io")) {
    skip ("qcow2 backing chain: qemu-nbd, qemu-img or qemu-io missing");
    return;
  }
  for (i = 0; i < 2; i++) {
    const char *fmt = base_formats[i];
    unsigned tail;

    /* base: data in [0, 6M), nothing in [6M, 8M).  top: data at 1M, a
     * zero cluster at 4M, data at 7M. */
    if (!run ("rm -f base.img top.qcow2 && qemu-img create -f %s base.img 8M"
              " && qemu-io -f %s -c 'write -P 0x11 0 6M' base.img"
              " && qemu-img create -f qcow2 -b base.img -F %s top.qcow2"
              " && qemu-io -f qcow2 -c 'write -P 0x22 1M 1M'"
              " -c 'write -z 4M 64k' -c 'write -P 0x33 7M 64k' top.qcow2",
              fmt, fmt, fmt)
        || !qemu_img_map ("top.qcow2", &want)) {
      tap_ok (false, "qcow2 over %s: create the images", fmt);
      continue;
    }
    if (!start_server (argv) || (b = open_server (&t, false)) == NULL) {
      tap_ok (false, "qcow2 over %s: start qemu-nbd and open", fmt);
      continue;
    }
    tap_ok (all_extents (b, EXTENTS_CONTEXT_ZERO, &got) == 0
            && extents_equal (&got, want.items, want.count, fmt),
            "qcow2 over %s: extents equal qemu-img map", fmt);
    tail = i == 0 ? EXTENT_ZERO : EXTENT_ZERO | EXTENT_HOLE;
    tap_ok (got.count > 2 && got.items[0].start == 0
            && got.items[0].length == 4 * MiB && got.items[0].flags == 0
            && got.items[got.count - 1].start == 7 * MiB + 64 * KiB
            && got.items[got.count - 1].flags == tail,
            "qcow2 over %s: base data is not a hole; the unwritten tail is "
            "zero%s", fmt, i == 0 ? " (raw base: not a hole)" : " and hole");
    backend_close (b);
  }

  /* The layer alone (qcow2 base of the last round cut off). */
  stop_server ();
  if (!qemu_img_map (layer, &want) || !start_server (argv_layer)
      || (b = open_server (&t, false)) == NULL) {
    tap_ok (false, "qcow2 layer: map, start qemu-nbd and open");
    goto out;
  }
  /* Exactly where top has no data: all but [1M,2M), [4M,4M+64k),
   * [7M,7M+64k). */
  extent_list_append (&exact, 0, MiB, EXTENT_ZERO | EXTENT_HOLE);
  extent_list_append (&exact, MiB, MiB, 0);
  extent_list_append (&exact, 2 * MiB, 2 * MiB, EXTENT_ZERO | EXTENT_HOLE);
  extent_list_append (&exact, 4 * MiB, 64 * KiB, EXTENT_ZERO);
  extent_list_append (&exact, 4 * MiB + 64 * KiB, 3 * MiB - 64 * KiB,
                      EXTENT_ZERO | EXTENT_HOLE);
  extent_list_append (&exact, 7 * MiB, 64 * KiB, 0);
  extent_list_append (&exact, 7 * MiB + 64 * KiB, MiB - 64 * KiB,
                      EXTENT_ZERO | EXTENT_HOLE);
  tap_ok (all_extents (b, EXTENTS_CONTEXT_ZERO, &got) == 0
          && extents_equal (&got, want.items, want.count, "qcow2 layer map")
          && extents_equal (&got, exact.items, exact.count,
                            "qcow2 layer exact"),
          "qcow2 layer: extents equal qemu-img map, hole exactly where the "
          "top layer has no data");
  backend_close (b);
 out:
  stop_server ();
  extent_list_free (&got);
  extent_list_free (&want);
  extent_list_free (&exact);
}

/* A qcow2 with dirty bitmap b0: dirty exactly the ranges written after
 * the bitmap was added. */
static void
test_dirty_bitmap (void)
{
  const char *argv[] = { "qemu-nbd", "-t", "-A", "-B", "b0", "-f", "qcow2",
                         "-k", "SOCK", "dirty.qcow2", NULL };
  const char *argv_plain[] = { "qemu-nbd", "-t", "-A", "-f", "qcow2",
                               "-k", "SOCK", "dirty.qcow2", NULL };
  struct extent_list got, want;
  struct transfer t;
  struct backend *b;
  int mode;

  extent_list_init (&got);
  extent_list_init (&want);
  if (!have_program ("qemu-nbd") || !have_program ("qemu-img")
      || !have_program ("qemu-io")) {
    skip ("dirty bitmap: qemu-nbd, qemu-img or qemu-io missing");
    return;
  }
  /* Data at 0 before the bitmap (allocated, clean); then data at 1M and
   * 4M, a zero cluster at 6M (dirty and zero). */
  if (!run ("rm -f dirty.qcow2 && qemu-img create -f qcow2 dirty.qcow2 8M"
            " && qemu-io -f qcow2 -c 'write -P 9 0 64k' dirty.qcow2"
            " && qemu-img bitmap --add dirty.qcow2 b0"
            " && qemu-io -f qcow2 -c 'write -P 1 1M 64k'"
            " -c 'write -P 2 4M 128k' -c 'write -z 6M 64k' dirty.qcow2")) {
    tap_ok (false, "dirty bitmap: create the image");
    goto out;
  }
  extent_list_append (&want, 0, 64 * KiB, 0);
  extent_list_append (&want, 64 * KiB, MiB - 64 * KiB, EXTENT_ZERO);
  extent_list_append (&want, MiB, 64 * KiB, EXTENT_DIRTY);
  extent_list_append (&want, MiB + 64 * KiB, 3 * MiB - 64 * KiB, EXTENT_ZERO);
  extent_list_append (&want, 4 * MiB, 128 * KiB, EXTENT_DIRTY);
  extent_list_append (&want, 4 * MiB + 128 * KiB, 2 * MiB - 128 * KiB,
                      EXTENT_ZERO);
  extent_list_append (&want, 6 * MiB, 64 * KiB, EXTENT_DIRTY | EXTENT_ZERO);
  extent_list_append (&want, 6 * MiB + 64 * KiB, 2 * MiB - 64 * KiB,
                      EXTENT_ZERO);
  if (!start_server (argv)) {
    tap_ok (false, "dirty bitmap: start qemu-nbd -B b0");
    goto out;
  }
  /* CloudStack names the bitmap; ImageIO asks for "the one offered". */
  for (mode = 0; mode < 2; mode++) {
    const char *how = mode == 0 ? "export_bitmap=b0" : "dirty=true";

    nbd_transfer (&t, server_socket);
    if (mode == 0)
      nbd_location (&t)->export_bitmap = (char *) "b0";
    else
      t.dirty = true;
    b = backend_open (&t, false);
    tap_ok (b != NULL && backend_can_dirty (b) == 1,
            "dirty bitmap (%s): can_dirty", how);
    if (b == NULL)
      continue;
    tap_ok (all_extents (b, EXTENTS_CONTEXT_DIRTY, &got) == 0
            && extents_equal (&got, want.items, want.count, how),
            "dirty bitmap (%s): dirty exactly the written ranges", how);
    extent_list_clear (&got);
    tap_ok (backend_extents (b, EXTENTS_CONTEXT_DIRTY, 64 * KiB,
                             MiB + 32 * KiB, &got) == 0
            && got.count == 2 && got.items[0].start == MiB + 32 * KiB
            && got.items[0].length == 32 * KiB
            && got.items[0].flags == EXTENT_DIRTY
            && got.items[1].flags == EXTENT_ZERO
            && extent_list_end (&got) == MiB + 96 * KiB,
            "dirty bitmap (%s): a sub-range is exact", how);
    backend_close (b);
  }

  /* A bitmap the server does not have: no bitmap, everything dirty. */
  nbd_transfer (&t, server_socket);
  nbd_location (&t)->export_bitmap = (char *) "nope";
  b = backend_open (&t, false);
  tap_ok (b != NULL && backend_can_dirty (b) == 0
          && all_extents (b, EXTENTS_CONTEXT_DIRTY, &got) == 0
          && got.count > 1 && (got.items[0].flags & EXTENT_DIRTY)
          && (got.items[1].flags & EXTENT_DIRTY),
          "dirty bitmap: unknown bitmap name gives all dirty");
  backend_close (b);

  /* dirty=true on a server offering no bitmap. */
  if (start_server (argv_plain)) {
    nbd_transfer (&t, server_socket);
    t.dirty = true;
    b = backend_open (&t, false);
    tap_ok (b != NULL && backend_can_dirty (b) == 0
            && backend_can_extents (b) == 1,
            "dirty bitmap: dirty=true without a bitmap opens, can_dirty 0");
    backend_close (b);
  }
  else
    tap_ok (false, "dirty bitmap: start qemu-nbd without -B");
 out:
  stop_server ();
  extent_list_free (&got);
  extent_list_free (&want);
}

static void
test_read_only (void)
{
  const char *nbdkit_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-r",
                                "-U", "SOCK", "memory", "1M", NULL };
  const char *qemu_argv[] = { "qemu-nbd", "-t", "-r", "-f", "raw", "-k",
                              "SOCK", "ro.raw", NULL };
  const char *const *servers[] = { nbdkit_argv, qemu_argv };
  char buf[4096] = { 1 };
  size_t i;

  if (!run ("truncate -s 1M ro.raw")) {
    tap_ok (false, "read-only: create ro.raw");
    return;
  }
  for (i = 0; i < 2; i++) {
    struct transfer t;
    struct backend *b;
    int r;

    if (i == 1 && !have_program ("qemu-nbd")) {
      skip ("read-only qemu-nbd: qemu-nbd missing");
      continue;
    }
    if (!start_server (servers[i]) || (b = open_server (&t, true)) == NULL) {
      tap_ok (false, "read-only %s: start and open", servers[i][0]);
      continue;
    }
    tap_ok (backend_can_write (b) == 0, "read-only %s: can_write 0",
            servers[i][0]);
    r = backend_pwrite (b, buf, sizeof buf, 0);
    tap_ok (r == -1 && errno == EROFS, "read-only %s: pwrite is EROFS: %s",
            servers[i][0], error_message ());
    r = backend_zero (b, sizeof buf, 0);
    tap_ok (r == -1 && errno == EROFS, "read-only %s: zero is EROFS",
            servers[i][0]);
    tap_ok (backend_pread (b, buf, sizeof buf, 4096) == 0,
            "read-only %s: pread works", servers[i][0]);
    backend_close (b);
    stop_server ();
  }
}

/* Errors keep their errno and name the operation and the offset, and
 * never the socket. */
static void
test_errors (void)
{
  const char *eio_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                             "SOCK", "--filter=error", "memory", "16M",
                             "error=EIO", "error-pread-rate=1", NULL };
  const char *enospc_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                                "SOCK", "--filter=error", "memory", "16M",
                                "error=ENOSPC", "error-pwrite-rate=1",
                                "error-zero-rate=1", NULL };
  const char *full_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                              "SOCK", "full", "1M", NULL };
  char *buf = calloc (1, 4 * MiB);
  struct transfer t;
  struct backend *b;
  int r;

  if (start_server (eio_argv) && (b = open_server (&t, true)) != NULL) {
    r = backend_pread (b, buf, 4096, MiB);
    tap_ok (r == -1 && errno == EIO
            && strcmp (error_message (),
                       "pread at offset 1048576: Input/output error") == 0,
            "error filter: pread is EIO naming the offset: %s",
            error_message ());
    r = backend_pread (b, buf, 4 * MiB, 2 * MiB);
    tap_ok (r == -1 && errno == EIO
            && strstr (error_message (), "pread at offset ") != NULL
            && strstr (error_message (), server_socket) == NULL,
            "error filter: pipelined pread is EIO: %s", error_message ());
    tap_ok (backend_pwrite (b, buf, 4 * MiB, 0) == 0,
            "error filter: the connection survives a failed read");
    backend_close (b);
  }
  else
    tap_ok (false, "error filter: start and open");

  if (start_server (enospc_argv) && (b = open_server (&t, true)) != NULL) {
    r = backend_pwrite (b, buf, 4096, 8192);
    tap_ok (r == -1 && errno == ENOSPC
            && strcmp (error_message (), "pwrite at offset 8192: "
                       "No space left on device") == 0,
            "ENOSPC filter: pwrite is ENOSPC: %s", error_message ());
    r = backend_pwrite (b, buf, 4 * MiB, 0);
    tap_ok (r == -1 && errno == ENOSPC, "ENOSPC filter: pipelined pwrite is "
            "ENOSPC: %s", error_message ());
    r = backend_zero (b, MiB, 0);
    tap_ok (r == -1 && errno == ENOSPC, "ENOSPC filter: zero is ENOSPC: %s",
            error_message ());
    backend_close (b);
  }
  else
    tap_ok (false, "ENOSPC filter: start and open");

  if (start_server (full_argv) && (b = open_server (&t, true)) != NULL) {
    r = backend_pwrite (b, buf, 512, 0);
    tap_ok (r == -1 && errno == ENOSPC, "full plugin: pwrite is ENOSPC: %s",
            error_message ());
    tap_ok (backend_can_flush (b) == 0 && backend_flush (b) == 0,
            "full plugin: no flush advertised, flush skipped");
    backend_close (b);
  }
  else
    tap_ok (false, "full plugin: start and open");
  stop_server ();
  free (buf);
}

static void
test_unreachable (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct sockaddr_in in = { .sin_family = AF_INET };
  socklen_t in_len = sizeof in;
  char path[300], port[16];
  struct transfer t;
  struct backend *b;
  int fd;

  /* No socket file at all. */
  snprintf (path, sizeof path, "%s/missing.sock", tmpdir);
  nbd_transfer (&t, path);
  b = backend_open (&t, false);
  tap_ok (b == NULL && errno == ECONNREFUSED
          && strstr (error_message (), "cannot connect to NBD server at ")
          && strstr (error_message (), path),
          "missing socket is ECONNREFUSED: %s", error_message ());

  /* A socket nobody listens on. */
  snprintf (path, sizeof path, "%s/deaf.sock", tmpdir);
  fd = socket (AF_UNIX, SOCK_STREAM, 0);
  if (fd >= 0 && set_sun_path (&addr, path)
      && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0) {
    nbd_transfer (&t, path);
    b = backend_open (&t, false);
    tap_ok (b == NULL && errno == ECONNREFUSED
            && strstr (error_message (), path),
            "socket without listener is ECONNREFUSED: %s", error_message ());
  }
  else
    tap_ok (false, "bind %s", path);
  if (fd >= 0)
    close (fd);
  unlink (path);

  /* TCP: a port just released on 127.0.0.1. */
  in.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && bind (fd, (struct sockaddr *) &in, sizeof in) == 0
      && getsockname (fd, (struct sockaddr *) &in, &in_len) == 0) {
    snprintf (port, sizeof port, "%d", ntohs (in.sin_port));
    close (fd);
    fd = -1;
    nbd_transfer (&t, NULL);
    nbd_location (&t)->socket = NULL;
    nbd_location (&t)->host = (char *) "127.0.0.1";
    nbd_location (&t)->port = port;
    b = backend_open (&t, false);
    tap_ok (b == NULL && errno == ECONNREFUSED
            && strstr (error_message (), "127.0.0.1:"),
            "TCP port without listener is ECONNREFUSED: %s", error_message ());
  }
  else
    tap_ok (false, "bind 127.0.0.1:0");
  if (fd >= 0)
    close (fd);
}

/* A wrong export name: the server is up, so not ECONNREFUSED (503). */
static void
test_wrong_export (void)
{
  const char *argv[] = { "qemu-nbd", "-t", "-x", "disk", "-f", "raw", "-k",
                         "SOCK", "ro.raw", NULL };
  struct transfer t;
  struct backend *b;

  if (!have_program ("qemu-nbd")) {
    skip ("wrong export: qemu-nbd missing");
    return;
  }
  if (!run ("truncate -s 1M ro.raw") || !start_server (argv)) {
    tap_ok (false, "wrong export: start qemu-nbd");
    return;
  }
  nbd_transfer (&t, server_socket);
  nbd_location (&t)->export_name = (char *) "other";
  b = backend_open (&t, false);
  tap_ok (b == NULL && errno != ECONNREFUSED && errno != ENOENT
          && strstr (error_message (), "refused export \"other\""),
          "wrong export name fails, not as unreachable: %s (errno %d)",
          error_message (), errno);
  backend_close (b);
  nbd_location (&t)->export_name = (char *) "disk";
  b = backend_open (&t, false);
  tap_ok (b != NULL && b->size == MiB, "the right export name opens");
  backend_close (b);
  stop_server ();
}

/* The server dies while a read is in flight, and between requests. */
static void
test_server_dies (void)
{
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "--filter=delay", "memory", "16M", "rdelay=2",
                         NULL };
  char *buf = malloc (8 * MiB);
  struct transfer t;
  struct backend *b;
  pid_t killer;
  double start;
  int r;

  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "server dies: start and open");
    free (buf);
    return;
  }
  killer = fork ();
  if (killer == 0) {
    usleep (300000);
    kill (server_pid, SIGKILL);
    _exit (0);
  }
  start = now ();
  r = backend_pread (b, buf, 8 * MiB, 0);
  tap_ok (r == -1 && errno == ENOTCONN && now () - start < 1.9,
          "server killed mid-read: the read fails (%.2fs): %s",
          now () - start, r ? error_message () : "succeeded!");
  waitpid (killer, NULL, 0);
  r = backend_pread (b, buf, 4096, 0);
  tap_ok (r == -1 && errno == ENOTCONN,
          "after the server died: pread fails, ENOTCONN: %s",
          r ? error_message () : "succeeded!");
  r = backend_pwrite (b, buf, 4 * MiB, 0);
  tap_ok (r == -1 && errno == ENOTCONN,
          "after the server died: pipelined pwrite fails, ENOTCONN: %s",
          r ? error_message () : "succeeded!");
  backend_close (b);
  stop_server ();
  free (buf);
}

/* Zero without WRITE_ZEROES: backend.c writes zero buffers. */
static void
test_nozero (void)
{
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "--filter=nozero", "memory", "4M", NULL };
  char *buf = malloc (4 * MiB);
  struct transfer t;
  struct backend *b;
  size_t i;
  bool zero = true;

  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "nozero: start and open");
    free (buf);
    return;
  }
  memset (buf, 0x5a, 4 * MiB);
  tap_ok (backend_can_zero (b) == 0, "nozero: can_zero 0");
  tap_ok (backend_pwrite (b, buf, 4 * MiB, 0) == 0
          && backend_zero (b, 3 * MiB - 1, 1) == 0
          && backend_pread (b, buf, 4 * MiB, 0) == 0,
          "nozero: write, zero, read");
  for (i = 1; i < 3 * MiB; i++)
    zero = zero && buf[i] == 0;
  tap_ok (zero && buf[0] == 0x5a && buf[3 * MiB] == 0x5a,
          "nozero: exactly the zeroed range reads zero");
  backend_close (b);
  stop_server ();
  free (buf);
}

/* A server advertising a small maximum block size. */
static void
test_block_size (void)
{
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "--filter=blocksize-policy", "memory", "8M",
                         "blocksize-maximum=1M",
                         "blocksize-error-policy=error",
                         NULL };
  char *buf = malloc (8 * MiB), *back = malloc (8 * MiB);
  struct transfer t;
  struct backend *b;

  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "blocksize-policy: start and open");
    goto out;
  }
  fill_pattern (buf, 8 * MiB, 3);
  tap_ok (b->max_request == MiB, "blocksize-policy: max_request %" PRIu64,
          b->max_request);
  tap_ok (backend_pwrite (b, buf, 8 * MiB - 4096, 4096) == 0
          && backend_pread (b, back, 8 * MiB - 4096, 4096) == 0
          && memcmp (buf, back, 8 * MiB - 4096) == 0,
          "blocksize-policy: 8 MiB round trip in 1 MiB requests");
  backend_close (b);
 out:
  stop_server ();
  free (buf);
  free (back);
}

/* backend_extents_part: one call describes what the commands in flight
 * cover (4 of 4 GiB less 1 MiB), never more than asked, and the next call
 * goes on from there.  The data (64 KiB, the memory plugin's pages are
 * 32 KiB) straddles the end of the fourth command. */
static void
test_extents_part (void)
{
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "memory", "32G", NULL };
  const uint64_t command = 4 * GiB - MiB;
  struct extent_list list;
  struct transfer t;
  struct backend *b;
  uint64_t described = 0;
  char buf[65536];
  int r;

  if (!start_server (argv) || (b = open_server (&t, true)) == NULL) {
    tap_ok (false, "extents part: start nbdkit and open");
    return;
  }
  memset (buf, 0x5a, sizeof buf);
  extent_list_init (&list);
  r = backend_pwrite (b, buf, sizeof buf, 4 * command - 32768);
  if (r == 0)
    r = backend_extents_part (b, EXTENTS_CONTEXT_ZERO, b->size, 0, &list,
                              &described);
  tap_ok (r == 0 && described == 4 * command && list.count == 2
          && list.items[0].start == 0
          && list.items[0].length == 4 * command - 32768
          && list.items[0].flags == EXTENT_ZERO
          && list.items[1].length == 32768 && list.items[1].flags == 0,
          "extents part: one call describes 4 commands' worth (%" PRIu64
          " bytes, %zu extents)", described, list.count);

  extent_list_clear (&list);
  r = backend_extents_part (b, EXTENTS_CONTEXT_ZERO, b->size - 4 * command,
                            4 * command, &list, &described);
  tap_ok (r == 0 && described == 8 * command && list.count == 2
          && list.items[0].start == 4 * command
          && list.items[0].length == 32768 && list.items[0].flags == 0
          && list.items[1].flags == EXTENT_ZERO,
          "extents part: the next call goes on from there (to %" PRIu64
          ", %zu extents)", described, list.count);

  extent_list_clear (&list);
  r = backend_extents_part (b, EXTENTS_CONTEXT_DIRTY, MiB, GiB, &list,
                            &described);
  tap_ok (r == 0 && described == GiB + MiB && list.count == 1
          && list.items[0].start == GiB && list.items[0].length == MiB
          && list.items[0].flags == (EXTENT_ZERO | EXTENT_DIRTY),
          "extents part: never more than asked (to %" PRIu64 ")", described);
  extent_list_free (&list);
  backend_close (b);
  stop_server ();
}

/* Block status commands the server received, from the log it was told
 * to keep (a line per command): nbdkit's log filter writes " Extents id="
 * for a request ("...Extents id=" for its reply), qemu-nbd's trace event
 * names the request type.  -1 when there is no log. */
static long
commands_logged (const char *log_name, const char *marker)
{
  char path[300], line[4096];
  FILE *fp;
  long n = 0;

  snprintf (path, sizeof path, "%s/%s", tmpdir, log_name);
  fp = fopen (path, "r");
  if (fp == NULL)
    return -1;
  while (fgets (line, sizeof line, fp) != NULL)
    if (strstr (line, marker) != NULL)
      n++;
  fclose (fp);
  return n;
}

/* The fewest block status commands that can describe n bytes: the NBD
 * request length is 32 bits. */
static uint64_t
fewest_commands (uint64_t n)
{
  return (n + UINT32_MAX - 1) / UINT32_MAX;
}

/* Multi-terabyte sparse exports: the whole extent map in a few large
 * block status commands, counted by the server.  A count, not a time:
 * the time depends on what else the machine runs (11-15 s under a load
 * of 6 for what takes under a second on a quiet one), the count only on
 * how the backend steps through the export.  It may be 1.5 times the
 * fewest the protocol allows (a server may describe a range in part and
 * be asked the rest); ranges of 2 GiB take nearly twice the fewest, of
 * 1 GiB four times, of a few MiB thousands of times. */
static void
test_huge (void)
{
  const char *memory_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                                "SOCK", "--filter=log", "memory", "4T",
                                "logfile=commands.log", NULL };
  const char *qcow2_argv[] = { "qemu-nbd", "-t", "-A", "-f", "qcow2", "-k",
                               "SOCK", "-T",
                               "nbd_co_receive_request_decode_type,"
                               "file=commands.log", "huge.qcow2", NULL };
  const char *const *servers[] = { memory_argv, qcow2_argv };
  const char *markers[] = { " Extents id=", "(block status)" };
  char buf[65536];
  size_t i;

  memset (buf, 0x77, sizeof buf);
  for (i = 0; i < 2; i++) {
    struct extent_list list;
    struct transfer t;
    struct backend *b;
    uint64_t offset, covered = 0, data = 0, asked = 0, fewest = 0;
    size_t count = 0;
    long commands;
    double start, seconds;
    int r = 0;

    if (i == 1 && (!have_program ("qemu-nbd")
                   || !run ("rm -f huge.qcow2 && qemu-img create -f qcow2 "
                            "huge.qcow2 4T && qemu-io -f qcow2 "
                            "-c 'write -P 1 1T 64k' -c 'write -P 2 3T 64k' "
                            "huge.qcow2"))) {
      skip ("4 TiB qcow2: qemu tools missing or failed");
      continue;
    }
    if (!run ("rm -f commands.log")
        || !start_server (servers[i])
        || (b = open_server (&t, true)) == NULL) {
      tap_ok (false, "4 TiB %s: start and open", servers[i][0]);
      continue;
    }
    if (i == 0)
      r = backend_pwrite (b, buf, sizeof buf, TiB)
        | backend_pwrite (b, buf, sizeof buf, 3 * TiB);
    extent_list_init (&list);
    start = now ();
    /* As a route would: 64 GiB steps, each emitted and forgotten. */
    for (offset = 0; r == 0 && offset < b->size; offset += 64 * GiB) {
      uint64_t n = b->size - offset < 64 * GiB ? b->size - offset : 64 * GiB;
      long so_far;
      size_t j;

      extent_list_clear (&list);
      r = backend_extents (b, EXTENTS_CONTEXT_ZERO, n, offset, &list);
      for (j = 0; r == 0 && j < list.count; j++) {
        if (list.items[j].start != covered)
          r = -1;
        covered += list.items[j].length;
        if (!(list.items[j].flags & EXTENT_ZERO))
          data += list.items[j].length;
        count++;
      }
      asked += n;
      fewest += fewest_commands (n);
      /* Small steps would take minutes: stop once over the bound. */
      so_far = commands_logged ("commands.log", markers[i]);
      if (so_far > 0 && (uint64_t) so_far > fewest * 3 / 2)
        break;
    }
    seconds = now () - start;
    backend_close (b);
    stop_server ();             /* the log is complete */
    commands = commands_logged ("commands.log", markers[i]);
    tap_ok (r == 0 && covered == 4 * TiB && data == 2 * sizeof buf,
            "4 TiB %s: extents gap-free, %" PRIu64 " data bytes, %zu extents "
            "in %.2fs", servers[i][0], data, count, seconds);
    /* qemu-nbd logs trace events only when built with the log backend. */
    if (i == 1 && commands <= 0) {
      skip ("4 TiB qemu-nbd: no trace log to count commands with");
      extent_list_free (&list);
      continue;
    }
    tap_ok (commands > 0 && (uint64_t) commands <= fewest * 3 / 2,
            "4 TiB %s: %ld block status commands for %" PRIu64 " GiB "
            "(fewest %" PRIu64 ", at most 1.5 times that)", servers[i][0],
            commands, asked / GiB, fewest);
    extent_list_free (&list);
  }
}

/* The checksum over NBD: zero extents are not read (every read fails on
 * this server), and data matches the file backend's checksum. */
static void
test_checksum (void)
{
  const char *noread_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                                "SOCK", "--filter=error", "memory", "64M",
                                "error=EIO", "error-pread-rate=1", NULL };
  const char *data_argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                              "SOCK", "memory", "20M", NULL };
  char path[300], nbd_hex[CHECKSUM_HEX_SIZE], file_hex[CHECKSUM_HEX_SIZE];
  char *buf = malloc (3 * MiB);
  struct file_location file_location = { 0 };
  struct transfer t, ft;
  struct backend *b, *fb;
  int fd, r;

  snprintf (path, sizeof path, "%s/zero.raw", tmpdir);
  memset (&ft, 0, sizeof ft);
  strcpy (ft.id, "file");
  ft.type = backend_type_find ("file");
  ft.location = &file_location;
  file_location.path = path;
  ft.ops = TRANSFER_OP_READ;

  if (start_server (noread_argv) && (b = open_server (&t, false)) != NULL) {
    r = checksum_compute (b, "blake2b", 4 * MiB, nbd_hex, NULL, NULL);
    backend_close (b);
    fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0)
      close (fd);
    fb = truncate (path, 64 * MiB) == 0 ? backend_open (&ft, false) : NULL;
    tap_ok (r == 0 && fb != NULL
            && checksum_compute (fb, "blake2b", 4 * MiB, file_hex,
                                 NULL, NULL) == 0
            && strcmp (nbd_hex, file_hex) == 0,
            "checksum: all-zero export hashed without reading: %s",
            r == 0 ? nbd_hex : error_message ());
    backend_close (fb);
  }
  else
    tap_ok (false, "checksum: start the failing-read server");

  if (start_server (data_argv) && (b = open_server (&t, true)) != NULL) {
    fill_pattern (buf, 3 * MiB, 11);
    fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    r = fd >= 0 && ftruncate (fd, 20 * MiB) == 0
      && pwrite (fd, buf, 3 * MiB, 5 * MiB + 7) == (ssize_t) (3 * MiB)
      && pwrite (fd, buf, 1, 20 * MiB - 1) == 1 ? 0 : -1;
    if (fd >= 0)
      close (fd);
    if (r == 0)
      r = backend_pwrite (b, buf, 3 * MiB, 5 * MiB + 7)
        | backend_pwrite (b, buf, 1, 20 * MiB - 1);
    fb = r == 0 ? backend_open (&ft, false) : NULL;
    tap_ok (fb != NULL
            && checksum_compute (b, "sha256", MiB, nbd_hex, NULL, NULL) == 0
            && checksum_compute (fb, "sha256", MiB, file_hex, NULL, NULL) == 0
            && strcmp (nbd_hex, file_hex) == 0,
            "checksum: NBD and file backends agree on data: %s", nbd_hex);
    backend_close (fb);
    backend_close (b);
  }
  else
    tap_ok (false, "checksum: start the data server");
  stop_server ();
  unlink (path);
  free (buf);
}

static void
cleanup (void)
{
  stop_server ();
  if (tmpdir[sizeof tmpdir - 7] != 'X') {
    char cmd[sizeof tmpdir + 16];

    snprintf (cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system (cmd) != 0)
      fprintf (stderr, "# could not remove %s\n", tmpdir);
  }
}

/* Lines of the log filter's file that contain what. */
static int
count_log_lines (const char *log, const char *what)
{
  char line[1024];
  int n = 0;
  FILE *fp = fopen (log, "r");

  if (fp == NULL)
    return 0;
  while (fgets (line, sizeof line, fp))
    n += strstr (line, what) != NULL;
  fclose (fp);
  return n;
}

/* Lines of the log filter's file that start a connection. */
static int
count_connects (const char *log)
{
  return count_log_lines (log, " Connect ");
}

/* The read commands the server has received so far: the log filter,
 * outside the delay filter, writes a command's line when it arrives,
 * before it is answered. */
static int
count_reads (const char *log)
{
  return count_log_lines (log, " Read id=");
}

struct abandoned_read {
  struct backend *b;
  char *buf;
  size_t count;
  int r, errnum;
  char message[256];
};

static void *
abandoned_read_run (void *arg)
{
  struct abandoned_read *a = arg;

  a->r = backend_pread (a->b, a->buf, a->count, 0);
  a->errnum = a->r == -1 ? error_errno () : 0;
  snprintf (a->message, sizeof a->message, "%s",
            a->r == -1 ? error_message () : "");
  return NULL;
}

/* nbdkit's pattern plugin: each 8-byte word holds its own offset, big
 * endian. */
static bool
is_pattern (const char *buf, size_t count, uint64_t offset)
{
  for (size_t i = 0; i < count; i += 8) {
    uint64_t word;

    memcpy (&word, buf + i, 8);
    if (be64toh (word) != offset + i)
      return false;
  }
  return true;
}

/* A read abandoned from another thread (a download that ended early)
 * sends no command after the abandon but the one it may have been
 * sending, and returns once the commands in flight (at most 16) are
 * answered: the server sees at most 16 more than it had when the
 * read was abandoned, not the rest of the read.  The connection is then
 * in a clean state (no answer pending) and the next read gets its own
 * bytes. */
static void
test_abandon (void)
{
  /* 137 pieces, 9 rounds of 16 in flight: 0.45 s, time enough for the
   * abandon to come in the middle even on a busy machine. */
  const size_t count = 16 * MiB;
  char log[300], logfile[320];
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "--filter=log", "--filter=delay", "pattern", "64M",
                         logfile, "delay-read=50ms", NULL };
  struct abandoned_read a = { .count = count };
  struct transfer t;
  pthread_t thread;
  int before = 0, seen, waited = 0;

  snprintf (log, sizeof log, "%s/abandon.log", tmpdir);
  snprintf (logfile, sizeof logfile, "logfile=%s", log);
  unlink (log);
  a.buf = malloc (count);
  if (a.buf == NULL || !start_server (argv)
      || (a.b = open_server (&t, false)) == NULL) {
    tap_ok (false, "abandon: start nbdkit and open");
    goto out;
  }
  if (pthread_create (&thread, NULL, abandoned_read_run, &a) != 0) {
    tap_ok (false, "abandon: start the reading thread");
    goto close;
  }
  /* Abandon once the read is well under way, then count: whatever
   * the server had received by the abandon is at most what it shows
   * now. */
  while (count_reads (log) < 20 && waited < SERVER_START_TIMEOUT_MS) {
    usleep (1000);
    waited++;
  }
  backend_set_abandoned (a.b, true);
  before = count_reads (log);
  pthread_join (thread, NULL);
  backend_set_abandoned (a.b, false);
  seen = count_reads (log);
  tap_ok (a.r == -1 && a.errnum == ECANCELED
          && strstr (a.message, "abandoned") != NULL,
          "abandon: the read fails with ECANCELED (%s)", a.message);
  tap_ok (before >= 20 && seen - before <= NBD_MAX_PIECES
          && seen < (int) (count / NBD_PIECE),
          "abandon: %d commands after the abandon (at most %d), %d of %zu "
          "in all", seen - before, NBD_MAX_PIECES, seen, count / NBD_PIECE);
  memset (a.buf, 0, MiB);
  tap_ok (backend_pread (a.b, a.buf, MiB, 3 * MiB) == 0
          && is_pattern (a.buf, MiB, 3 * MiB),
          "abandon: the next read on the connection gets its own bytes");
 close:
  backend_close (a.b);
 out:
  stop_server ();
  free (a.buf);
}

/* The cancel check a worker installs (backend_set_cancel_check): here a
 * flag the test sets, as deleting the descriptor would. */
static volatile bool stalled_cancelled;

static bool
stalled_still_wanted (const struct transfer *t)
{
  (void) t;
  return !stalled_cancelled;
}

/* How the call is stopped while the server sits on its commands. */
enum stall_stop { STALL_ABANDON, STALL_CANCEL };

struct stalled_call {
  const char *name;
  enum stall_stop stop;
  bool extents;                 /* block status, else a read */
  size_t count;                 /* read: 16 MiB pipelined, 4 KiB one command */
  const char *expect;           /* in the error message */
};

struct stalled_run {
  const struct stalled_call *call;
  struct backend *b;
  char *buf;
  int r, errnum;
  char message[256];
};

static void *
stalled_run_call (void *arg)
{
  struct stalled_run *s = arg;
  struct extent_list list;

  if (s->call->extents) {
    extent_list_init (&list);
    s->r = backend_extents (s->b, EXTENTS_CONTEXT_ZERO, 16 * MiB, 0, &list);
    extent_list_free (&list);
  }
  else
    s->r = backend_pread (s->b, s->buf, s->call->count, 0);
  s->errnum = s->r == -1 ? error_errno () : 0;
  snprintf (s->message, sizeof s->message, "%s",
            s->r == -1 ? error_message () : "");
  return NULL;
}

/* The server's delay: longer than any stopped call may take, short
 * enough for the test to wait it out once. */
#define STALL_SECONDS 4
/* A stopped call waits up to 1 s for its commands in flight, after
 * noticing the stop within a poll slice: 2.5 s leaves room for a busy
 * machine and is still well below the server's delay. */
#define STALL_RETURN_BOUND 2.5

/* One call against a server that sits on every command for
 * STALL_SECONDS, stopped once its commands reached the server.  Returns
 * the time from the stop to the call's return (-1 when it could not
 * run); *s holds the outcome, the backend still open. */
static double
stalled_call_run (const struct stalled_call *call, const char *log,
                  struct stalled_run *s)
{
  struct transfer t;
  pthread_t thread;
  double stopped;
  int waited = 0;

  s->call = call;
  s->b = open_server (&t, false);
  if (s->b == NULL)
    return -1;
  if (pthread_create (&thread, NULL, stalled_run_call, s) != 0) {
    backend_close (s->b);
    return -1;
  }
  while (count_log_lines (log, call->extents ? " Extents id=" : " Read id=")
         == 0 && waited < SERVER_START_TIMEOUT_MS) {
    usleep (1000);
    waited++;
  }
  stopped = now ();
  if (call->stop == STALL_ABANDON)
    backend_set_abandoned (s->b, true);
  else
    stalled_cancelled = true;
  pthread_join (thread, NULL);
  stopped = now () - stopped;
  backend_set_abandoned (s->b, false);
  stalled_cancelled = false;
  return stopped;
}

/* A server that stops answering while a call is stopped (a download
 * abandoned, its transfer cancelled): the call gives the connection up
 * about a second after the stop instead of waiting for the server, fails
 * with ECANCELED, and nothing is written into its buffer afterwards,
 * also once the server answers.  The connection is not used again: the
 * next call fails with ENOTCONN and the backend is not kept. */
static void
test_stalled_stop (void)
{
  const struct stalled_call calls[] = {
    { "abandoned pipelined read", STALL_ABANDON, false, 16 * MiB,
      "abandoned" },
    { "abandoned one-command read", STALL_ABANDON, false, 4 * KiB,
      "abandoned" },
    { "cancelled pipelined read", STALL_CANCEL, false, 16 * MiB,
      "was cancelled" },
    { "cancelled extents", STALL_CANCEL, true, 0, "was cancelled" },
  };
  char log[300], logfile[320], delay_read[32], delay_extents[32];
  const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U", "SOCK",
                         "--filter=log", "--filter=delay", "memory", "64M",
                         logfile, delay_read, delay_extents, NULL };
  const size_t buf_size = 16 * MiB;
  char *buf = malloc (buf_size);
  size_t i;

  snprintf (log, sizeof log, "%s/stalled.log", tmpdir);
  snprintf (logfile, sizeof logfile, "logfile=%s", log);
  snprintf (delay_read, sizeof delay_read, "delay-read=%d", STALL_SECONDS);
  snprintf (delay_extents, sizeof delay_extents, "delay-extents=%d",
            STALL_SECONDS);
  backend_set_cancel_check (stalled_still_wanted);
  for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    const struct stalled_call *call = &calls[i];
    struct stalled_run s = { .buf = buf };
    double took, started;
    bool untouched = true;

    unlink (log);
    if (buf == NULL || !start_server (argv)) {
      tap_ok (false, "stalled %s: start nbdkit", call->name);
      continue;
    }
    started = now ();
    took = stalled_call_run (call, log, &s);
    if (took < 0) {
      tap_ok (false, "stalled %s: open and start the call", call->name);
      stop_server ();
      continue;
    }
    tap_ok (s.r == -1 && s.errnum == ECANCELED
            && strstr (s.message, call->expect) != NULL
            && took < STALL_RETURN_BOUND,
            "stalled %s: ECANCELED %.2f s after the stop, not after the "
            "server's %d s (%s)", call->name, took, STALL_SECONDS,
            s.message);

    if (i == 0) {
      /* Wait until the server has answered what it was sent: nothing
       * may land in the buffer the call returned. */
      memset (buf, 0xa5, buf_size);
      while (now () - started < STALL_SECONDS + 1)
        usleep (100000);
      for (size_t j = 0; j < buf_size && untouched; j++)
        untouched = (unsigned char) buf[j] == 0xa5;
      tap_ok (untouched, "stalled %s: the buffer is not written after the "
              "call returned, also once the server answered", call->name);
    }
    if (s.r == -1 && took < STALL_RETURN_BOUND) {
      /* Given up: never used again, never kept. */
      tap_ok (backend_pread (s.b, buf, 4096, 0) == -1
              && error_errno () == ENOTCONN,
              "stalled %s: the next call fails with ENOTCONN (%s)",
              call->name, error_message ());
      backend_release (s.b);
      tap_ok (backend_kept_idle_ms () == -1,
              "stalled %s: the connection is not kept", call->name);
    }
    else
      backend_close (s.b);
    stop_server ();
  }
  backend_set_cancel_check (NULL);
  free (buf);
}

/* One request's worth: open for t, read a block, release.  Returns the
 * backend it had (compared, never used, after the release). */
static struct backend *
request_once (struct transfer *t, bool writable, bool *read_ok)
{
  char buf[4096];
  struct backend *b = backend_open (t, writable);

  *read_ok = b != NULL && backend_pread (b, buf, sizeof buf, 0) == 0;
  backend_release (b);
  return b;
}

/* A connection kept between requests of the same transfer: one NBD
 * handshake for many requests; a new one when the descriptor changes,
 * for another access, when the server restarted, after a failed request,
 * and never with a server that serves one client at a time. */
static void
test_keep_connection (void)
{
  char log[300], trigger[300], logfile[320], errfile[320];
  const char *argv[] = { "nbdkit", "-f", "-U", "SOCK", "--filter=log",
                         "--filter=error", "memory", "1M", logfile,
                         "error-pread=EIO", "error-pread-rate=1", errfile,
                         NULL, NULL };
  struct transfer t;
  struct backend *b1, *b2;
  bool ok1, ok2;

  snprintf (log, sizeof log, "%s/connections.log", tmpdir);
  snprintf (trigger, sizeof trigger, "%s/fail-reads", tmpdir);
  snprintf (logfile, sizeof logfile, "logfile=%s", log);
  snprintf (errfile, sizeof errfile, "error-pread-file=%s", trigger);
  unlink (log);
  unlink (trigger);
  if (!start_server (argv)) {
    tap_ok (false, "keep: start nbdkit");
    return;
  }
  nbd_transfer (&t, server_socket);
  t.spool_ino = 1;
  b1 = request_once (&t, false, &ok1);
  b2 = request_once (&t, false, &ok2);
  tap_ok (ok1 && ok2 && b1 == b2 && count_connects (log) == 1
          && backend_kept_idle_ms () > 0
          && backend_kept_idle_ms ()
             <= CONFIG_DEFAULT_BACKEND_KEEP_SECONDS * 1000,
          "keep: two requests, one connection (%d)", count_connects (log));

  t.spool_ino = 2;            /* the descriptor was replaced */
  request_once (&t, false, &ok1);
  tap_ok (ok1 && count_connects (log) == 2,
          "keep: a replaced descriptor connects again (%d)",
          count_connects (log));
  request_once (&t, true, &ok1);
  tap_ok (ok1 && count_connects (log) == 3,
          "keep: another access connects again (%d)", count_connects (log));

  /* A failed read: the connection is not kept. */
  if (close (open (trigger, O_WRONLY | O_CREAT, 0600)) == 0) {
    request_once (&t, true, &ok1);
    unlink (trigger);
    request_once (&t, true, &ok2);
    tap_ok (!ok1 && ok2 && count_connects (log) == 4,
            "keep: after a failed request, a new connection (%d)",
            count_connects (log));
  }
  else
    tap_ok (false, "keep: create %s", trigger);

  /* The server restarts: the kept connection is found dead before use. */
  stop_server ();
  unlink (log);
  if (start_server (argv)) {
    request_once (&t, true, &ok1);
    tap_ok (ok1 && count_connects (log) == 1,
            "keep: after the server restarted, a request works on a new "
            "connection (%d)", count_connects (log));
  }
  else
    tap_ok (false, "keep: restart nbdkit");
  backend_drop_kept ();
  tap_ok (backend_kept_idle_ms () == -1, "keep: dropped");

  /* A server that takes one client at a time: never kept. */
  argv[5] = "--filter=multi-conn";
  argv[9] = "multi-conn-mode=disable";
  argv[10] = NULL;
  unlink (log);
  if (start_server (argv)) {
    b1 = request_once (&t, false, &ok1);
    tap_ok (ok1 && backend_kept_idle_ms () == -1,
            "keep: no multi-conn, nothing kept");
    request_once (&t, false, &ok2);
    tap_ok (ok2 && count_connects (log) == 2,
            "keep: no multi-conn, a connection per request (%d)",
            count_connects (log));
  }
  else
    tap_ok (false, "keep: start nbdkit without multi-conn");
  stop_server ();
}

int
main (void)
{
  if (sodium_init () == -1 || mkdtemp (tmpdir) == NULL) {
    perror ("setup");
    return EXIT_FAILURE;
  }
  atexit (cleanup);
  signal (SIGPIPE, SIG_IGN);

  if (!have_program ("nbdkit")) {
    skip ("nbdkit is not installed: no NBD server to test against");
    return tap_done ();
  }
  test_memory_io ();
  test_memory_extents ();
  test_qcow2_backing ();
  test_dirty_bitmap ();
  test_read_only ();
  test_errors ();
  test_unreachable ();
  test_wrong_export ();
  test_server_dies ();
  test_nozero ();
  test_block_size ();
  test_extents_part ();
  test_huge ();
  test_checksum ();
  test_keep_connection ();
  test_abandon ();
  test_stalled_stop ();
  return tap_done ();
}
