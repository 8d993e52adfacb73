/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration file: defaults, each key good and bad, syntax,
 * and which file is chosen. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "error.h"
#include "tap.h"

/* A file's text, and either NULL and a piece of the resulting summary
 * (see summarize) or the piece of the error message expected. */
static const struct {
  const char *text;
  const char *error;
  const char *expect;
} config_tests[] = {
  /* The directories configure was given (--localstatedir, ...). */
  { "", NULL, " spool=" LOCALSTATEDIR "/lib/imagexfer/spool state="
    RUNSTATEDIR "/imagexfer level=2 workers=8 chunk=4194304 sendfile=0 "
    "direct=1 " },
  { "", NULL, " log=- " },
  { "log_file = /var/log/imagexfer/imagexfer.log\n", NULL,
    " log=/var/log/imagexfer/imagexfer.log " },
  { "# only a comment\n\n   \n\t\n", NULL, " workers=8 chunk=4194304 " },
  { "spool_dir = /srv/spool\n", NULL, " spool=/srv/spool " },
  { "spool_dir=/srv/spool", NULL, " spool=/srv/spool " },
  { "  spool_dir\t =   /srv/spool   \n", NULL, " spool=/srv/spool " },
  { "spool_dir = \"/srv/my spool\"\n", NULL, " spool=/srv/my spool " },
  { "spool_dir = \"/srv/a#b\" # comment\n", NULL, " spool=/srv/a#b " },
  { "spool_dir = /srv/s # comment\n", NULL, " spool=/srv/s " },
  { "spool_dir = /srv/s\r\n", NULL, " spool=/srv/s " },
  { "state_dir = /run/x\n", NULL, " state=/run/x " },
  { "log_level = error\n", NULL, " level=0 " },
  { "log_level = warning\n", NULL, " level=1 " },
  { "log_level = info\n", NULL, " level=2 " },
  { "log_level = debug\n", NULL, " level=3 " },
  { "workers = 1\n", NULL, " workers=1 " },
  { "", NULL, " timeout=60 " },
  { "backend_timeout = 5\n", NULL, " timeout=5 " },
  { "backend_timeout = 3600\n", NULL, " timeout=3600 " },
  { "", NULL, " keep=30 " },
  { "", NULL, " sfmax=67108864 " },
  { "", NULL, " client=120 " },
  { "", NULL, " roots=- " },
  { "", NULL, " mode=640 " },
  { "file_mode = 0600\n", NULL, " mode=600 " },
  { "file_mode = 660\n", NULL, " mode=660 " },
  { "image_roots = /tmp\n", NULL, " roots=/tmp " },
  { "image_roots = /tmp/../tmp  /\n", NULL, " roots=/tmp,/ " },
  { "client_timeout = 1\n", NULL, " client=1 " },
  { "client_timeout = 3600\n", NULL, " client=3600 " },
  { "sendfile_max = 1M\n", NULL, " sfmax=1048576 " },
  { "sendfile_max = 2G\n", NULL, " sfmax=2147483648 " },
  { "sendfile_max = 4097\n", NULL, " sfmax=4097 " },
  { "backend_keep_seconds = 1\n", NULL, " keep=1 " },
  { "backend_keep_seconds = 3600\n", NULL, " keep=3600 " },
  { "workers = 256\n", NULL, " workers=256 " },
  { "workers = \"4\"\n", NULL, " workers=4 " },
  { "workers = 2\nworkers = 3\n", NULL, " workers=3 " },
  { "chunk_size = 65536\n", NULL, " chunk=65536 " },
  { "chunk_size = 64K\n", NULL, " chunk=65536 " },
  { "chunk_size = 64KiB\n", NULL, " chunk=65536 " },
  { "chunk_size = 1M\n", NULL, " chunk=1048576 " },
  { "chunk_size = 32MiB\n", NULL, " chunk=33554432 " },
  { "chunk_size = 33554432\n", NULL, " chunk=33554432 " },
  { "chunk_size = 1028K\n", NULL, " chunk=1052672 " },
  { "sendfile = yes\n", NULL, " sendfile=1 " },
  { "sendfile = true\n", NULL, " sendfile=1 " },
  { "sendfile = on\n", NULL, " sendfile=1 " },
  { "sendfile = 1\n", NULL, " sendfile=1 " },
  { "sendfile = yes\nsendfile = no\n", NULL, " sendfile=0 " },
  { "sendfile = false\n", NULL, " sendfile=0 " },
  { "sendfile = off\n", NULL, " sendfile=0 " },
  { "sendfile = 0\n", NULL, " sendfile=0 " },
  { "direct_writes = no\n", NULL, " direct=0 " },
  { "direct_writes = yes\n", NULL, " direct=1 " },
  { "future_key = 5\nworkers = 7\n", NULL, " workers=7 " },
  { "# full file\nspool_dir = /a\nstate_dir = /b\nlog_level = debug\n"
    "workers = 16\nchunk_size = 8M\nsendfile = yes\n", NULL,
    " spool=/a state=/b level=3 workers=16 chunk=8388608 sendfile=1 " },
  /* Syntax. */
  { "spool_dir\n", ":1: expected \"key = value\"", NULL },
  { "spool_dir /srv\n", ":1: expected", NULL },
  { "= /srv\n", ":1: bad key", NULL },
  { "spool dir = /srv\n", ":1: bad key", NULL },
  { "Spool_Dir = /srv\n", ":1: bad key", NULL },
  { "spool_dir =\n", ":1: spool_dir: missing value", NULL },
  { "spool_dir = # nothing\n", ":1: spool_dir: missing value", NULL },
  { "spool_dir = \"\"\n", ":1: spool_dir: missing value", NULL },
  { "spool_dir = \"/srv\n", ":1: spool_dir: unterminated", NULL },
  { "spool_dir = \"/srv\" junk\n", ":1: spool_dir: junk", NULL },
  { "# one\n\nworkers = x\n", ":3: workers", NULL },
  /* Values. */
  { "spool_dir = relative\n", ":1: spool_dir: must be an absolute path",
    NULL },
  { "state_dir = run/x\n", ":1: state_dir: must be an absolute path", NULL },
  { "log_file = imagexfer.log\n", ":1: log_file: must be an absolute path",
    NULL },
  { "log_level = verbose\n", ":1: log_level", NULL },
  { "log_level = DEBUG\n", ":1: log_level", NULL },
  { "log_level = 3\n", ":1: log_level", NULL },
  /* Per-transfer caps: one less than the workers unless set; reads and
   * writes together held to the larger. */
  { "", NULL, " caps=7/7/7 " },
  { "workers = 1\n", NULL, " caps=1/1/1 " },
  { "workers = 2\n", NULL, " caps=1/1/1 " },
  { "workers = 4\nmax_readers = 8\n", NULL, " caps=8/3/8 " },
  { "max_writers = 1\n", NULL, " caps=7/1/7 " },
  { "max_readers = 2\nmax_writers = 1\n", NULL, " caps=2/1/2 " },
  { "max_readers = 256\n", NULL, " caps=256/7/256 " },
  { "max_readers = 0\n", ":1: max_readers: must be 1-256", NULL },
  { "max_writers = 257\n", ":1: max_writers: must be 1-256", NULL },
  { "max_writers = -1\n", ":1: max_writers", NULL },
  { "max_writers = two\n", ":1: max_writers", NULL },
  { "workers = 0\n", ":1: workers", NULL },
  { "backend_timeout = 0\n", ":1: backend_timeout", NULL },
  { "backend_timeout = 3601\n", ":1: backend_timeout", NULL },
  { "backend_timeout = -1\n", ":1: backend_timeout", NULL },
  { "backend_keep_seconds = 0\n", ":1: backend_keep_seconds", NULL },
  { "sendfile_max = 0\n", ":1: sendfile_max", NULL },
  { "client_timeout = 0\n", ":1: client_timeout", NULL },
  { "file_mode = 0644\n", ":1: file_mode", NULL },
  { "file_mode = 0777\n", ":1: file_mode", NULL },
  { "file_mode = rw\n", ":1: file_mode", NULL },
  { "image_roots = images\n", ":1: image_roots: must be absolute", NULL },
  { "image_roots = /no/such/dir\n", ":1: image_roots: /no/such/dir", NULL },
  { "client_timeout = 3601\n", ":1: client_timeout", NULL },
  { "sendfile_max = 1T\n", ":1: sendfile_max", NULL },
  { "sendfile_max = -1\n", ":1: sendfile_max", NULL },
  { "backend_keep_seconds = 3601\n", ":1: backend_keep_seconds", NULL },
  { "backend_timeout = 1s\n", ":1: backend_timeout", NULL },
  { "workers = 257\n", ":1: workers", NULL },
  { "workers = -1\n", ":1: workers", NULL },
  { "workers = +4\n", ":1: workers", NULL },
  { "workers = 4x\n", ":1: workers", NULL },
  { "workers = 4.0\n", ":1: workers", NULL },
  { "workers = 0x10\n", ":1: workers", NULL },
  { "workers = 99999999999999999999999\n", ":1: workers", NULL },
  { "workers = 4 4\n", ":1: workers", NULL },
  { "chunk_size = 4096\n", ":1: chunk_size", NULL },
  { "chunk_size = 65537\n", ":1: chunk_size", NULL },
  { "chunk_size = 100000\n", ":1: chunk_size", NULL },
  { "chunk_size = 33M\n", ":1: chunk_size", NULL },
  { "chunk_size = 1G\n", ":1: chunk_size", NULL },
  { "chunk_size = 64k\n", ":1: chunk_size", NULL },
  { "chunk_size = 64KB\n", ":1: chunk_size", NULL },
  { "chunk_size = 64 K\n", ":1: chunk_size", NULL },
  { "chunk_size = K\n", ":1: chunk_size", NULL },
  { "chunk_size = -64K\n", ":1: chunk_size", NULL },
  { "chunk_size = 18446744073709551616\n", ":1: chunk_size", NULL },
  { "chunk_size = 17592186044416M\n", ":1: chunk_size", NULL },
  { "sendfile = maybe\n", ":1: sendfile", NULL },
  { "sendfile = 2\n", ":1: sendfile", NULL },
  { "sendfile = yes please\n", ":1: sendfile", NULL },
  { "direct_writes = sometimes\n", ":1: direct_writes", NULL },
  /* The administrator's routes and CORS. */
  { "", NULL, " admin=no cors=* cancel=30 " },
  { "admin_tcp = loopback\n", NULL, " admin=loopback " },
  { "admin_tcp = no\n", NULL, " admin=no " },
  { "cors_origins = none\n", NULL, " cors= " },
  { "cors_origins = https://a.example  http://127.0.0.1:8080\n", NULL,
    " cors=https://a.example,http://127.0.0.1:8080 " },
  { "cors_origins = https://a.example *\n", NULL, " cors=https://a.example,* " },
  { "cancel_timeout = 0\n", NULL, " cancel=0 " },
  { "cancel_timeout = 3600\n", NULL, " cancel=3600 " },
  { "admin_tcp = yes\n", ":1: admin_tcp: must be no or loopback", NULL },
  { "admin_tcp = 0.0.0.0\n", ":1: admin_tcp", NULL },
  { "cors_origins = a.example\n", ":1: cors_origins: \"a.example\" is not",
    NULL },
  { "cors_origins = https://a.example/\n", ":1: cors_origins", NULL },
  { "cors_origins = https://a.example/x\n", ":1: cors_origins", NULL },
  { "cors_origins = ftp://a.example\n", ":1: cors_origins", NULL },
  { "cors_origins = https://\n", ":1: cors_origins", NULL },
  { "cancel_timeout = 3601\n", ":1: cancel_timeout: must be 0-3600", NULL },
  { "cancel_timeout = -1\n", ":1: cancel_timeout", NULL },
};

static const char *
level_digit (enum log_level level)
{
  static const char *const digits[] = { "0", "1", "2", "3" };

  return digits[level];
}

static void
summarize (const struct config *cfg, char *buf, size_t size)
{
  char cors[256] = "";

  for (size_t i = 0; cfg->cors_origins[i]; i++)
    snprintf (cors + strlen (cors), sizeof cors - strlen (cors), "%s%s",
              i ? "," : "", cfg->cors_origins[i]);
  snprintf (buf, size, " spool=%s state=%s level=%s workers=%u chunk=%zu "
            "sendfile=%d direct=%d timeout=%u keep=%u sfmax=%" PRIu64 " "
            "client=%u roots=%s%s%s mode=%o admin=%s cors=%s cancel=%u log=%s "
            "caps=%u/%u/%u ",
            cfg->spool_dir, cfg->state_dir, level_digit (cfg->log_level),
            cfg->workers, cfg->chunk_size, cfg->sendfile, cfg->direct_writes,
            cfg->backend_timeout, cfg->backend_keep_seconds,
            cfg->sendfile_max, cfg->client_timeout,
            cfg->image_roots ? cfg->image_roots[0] : "-",
            cfg->image_roots && cfg->image_roots[1] ? "," : "",
            cfg->image_roots && cfg->image_roots[1] ? cfg->image_roots[1] : "",
            cfg->file_mode,
            cfg->admin_tcp == CONFIG_ADMIN_TCP_LOOPBACK ? "loopback" : "no",
            cors, cfg->cancel_timeout, cfg->log_file ? cfg->log_file : "-",
            config_max_readers (cfg), config_max_writers (cfg),
            config_max_per_transfer (cfg));
}

/* Test names are single TAP lines. */
static const char *
show (const char *s)
{
  static char buf[512];
  size_t j = 0;

  for (; *s && j < sizeof buf - 3; s++) {
    if (*s == '\n' || *s == '\r' || *s == '\t') {
      buf[j++] = '\\';
      buf[j++] = *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't';
    }
    else
      buf[j++] = *s;
  }
  buf[j] = '\0';
  return buf;
}

static int
write_file (const char *path, const char *text)
{
  FILE *fp = fopen (path, "w");

  if (fp == NULL)
    return -1;
  fputs (text, fp);
  return fclose (fp);
}

static void
test_table (const char *dir)
{
  char path[4096];

  snprintf (path, sizeof path, "%s/test.conf", dir);
  for (size_t i = 0; i < sizeof config_tests / sizeof config_tests[0]; i++) {
    struct config cfg;
    char summary[1024] = "";
    int r;

    write_file (path, config_tests[i].text);
    error_clear ();
    r = config_load (path, &cfg);
    if (r == 0) {
      summarize (&cfg, summary, sizeof summary);
      config_free (&cfg);
    }
    if (config_tests[i].error == NULL)
      tap_ok (r == 0 && strstr (summary, config_tests[i].expect) != NULL,
              "config \"%s\" -> \"%s\" (got%s%s)", show (config_tests[i].text),
              config_tests[i].expect, summary,
              r == 0 ? "" : error_message ());
    else
      tap_ok (r == -1 && errno == EINVAL
              && strncmp (error_message (), path, strlen (path)) == 0
              && strstr (error_message (), config_tests[i].error) != NULL,
              "config \"%s\" -> error \"%s\" (got %d \"%s\")",
              show (config_tests[i].text), config_tests[i].error, r,
              error_message ());
  }
  unlink (path);
}

static void
test_defaults (void)
{
  struct config cfg;

  config_defaults (&cfg);
  tap_ok (cfg.path == NULL
          && strcmp (cfg.spool_dir, CONFIG_DEFAULT_SPOOL_DIR) == 0
          && strcmp (cfg.state_dir, CONFIG_DEFAULT_STATE_DIR) == 0
          && cfg.log_level == LOG_LEVEL_INFO
          && cfg.workers == CONFIG_DEFAULT_WORKERS
          && cfg.chunk_size == CONFIG_DEFAULT_CHUNK_SIZE && !cfg.sendfile,
          "config_defaults");
  config_free (&cfg);

  tap_ok (config_load (NULL, &cfg) == 0 && cfg.path == NULL
          && strcmp (cfg.spool_dir, CONFIG_DEFAULT_SPOOL_DIR) == 0
          && cfg.workers == CONFIG_DEFAULT_WORKERS,
          "config_load NULL gives the defaults");
  config_free (&cfg);
}

static void
test_files (const char *dir)
{
  struct config cfg, defaults;
  char path[4096];
  const char *top = getenv ("top_builddir");
  char shipped[4096];

  snprintf (path, sizeof path, "%s/missing.conf", dir);
  tap_ok (config_load (path, &cfg) == -1 && errno == ENOENT
          && strstr (error_message (), path) != NULL,
          "config_load missing file is ENOENT naming it (%s)",
          error_message ());

  snprintf (path, sizeof path, "%s/ok.conf", dir);
  write_file (path, "workers = 3\n");
  tap_ok (config_load (path, &cfg) == 0 && cfg.path
          && strcmp (cfg.path, path) == 0 && cfg.workers == 3,
          "config_load records the file it read");
  config_free (&cfg);
  unlink (path);

  /* The shipped file (made in the build tree from etc/imagexfer.conf.in)
   * documents every key with its default. */
  snprintf (shipped, sizeof shipped, "%s/etc/imagexfer.conf",
            top && top[0] ? top : ".");
  config_defaults (&defaults);
  tap_ok (config_load (shipped, &cfg) == 0
          && strcmp (cfg.spool_dir, defaults.spool_dir) == 0
          && strcmp (cfg.state_dir, defaults.state_dir) == 0
          && cfg.log_level == defaults.log_level
          && cfg.workers == defaults.workers
          && cfg.chunk_size == defaults.chunk_size
          && cfg.sendfile == defaults.sendfile,
          "shipped %s loads and equals the defaults", shipped);
  config_free (&cfg);
  config_free (&defaults);
}

static void
test_choose_path (void)
{
  const char *system_file = SYSCONFDIR "/imagexfer/imagexfer.conf";
  const char *fallback = access (system_file, F_OK) == 0 ? system_file : NULL;
  const char *p;

  unsetenv ("IMAGEXFER_CONF");
  p = config_choose_path ("/explicit.conf");
  tap_ok (p && strcmp (p, "/explicit.conf") == 0,
          "config_choose_path: explicit path");
  p = config_choose_path (NULL);
  tap_ok (fallback ? p && strcmp (p, fallback) == 0 : p == NULL,
          "config_choose_path: no env gives %s",
          fallback ? fallback : "defaults (no system file)");

  setenv ("IMAGEXFER_CONF", "/from-env.conf", 1);
  p = config_choose_path (NULL);
  tap_ok (p && strcmp (p, "/from-env.conf") == 0,
          "config_choose_path: IMAGEXFER_CONF");
  p = config_choose_path ("/explicit.conf");
  tap_ok (p && strcmp (p, "/explicit.conf") == 0,
          "config_choose_path: explicit beats IMAGEXFER_CONF");

  setenv ("IMAGEXFER_CONF", "", 1);
  p = config_choose_path (NULL);
  tap_ok (fallback ? p && strcmp (p, fallback) == 0 : p == NULL,
          "config_choose_path: empty IMAGEXFER_CONF is ignored");
  unsetenv ("IMAGEXFER_CONF");
}

int
main (void)
{
  char dir[] = "/tmp/test-config.XXXXXX";

  if (mkdtemp (dir) == NULL) {
    tap_ok (false, "mkdtemp");
    return tap_done ();
  }
  test_defaults ();
  test_table (dir);
  test_files (dir);
  test_choose_path ();
  rmdir (dir);
  return tap_done ();
}
