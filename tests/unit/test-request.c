/* SPDX-License-Identifier: Apache-2.0 */
/* Request parsing (fcgi/request.c): the CGI parameters libfcgi hands
 * over become method, decoded path, query and Content-Length; query
 * values and headers are looked up by name.  The parameters are given
 * as the envp array FCGX_Accept_r would fill. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "error.h"
#include "request.h"
#include "tap.h"

#define PARAMS_MAX 8

/* A row whose parameters request_parse refuses. */
#define REFUSED -1, EINVAL, NULL, NULL, NULL, false, 0

/* request_parse on one set of parameters. */
static const struct {
  const char *params[PARAMS_MAX];   /* NULL-terminated "NAME=value" */
  int result;
  int errnum;                       /* when result is -1 */
  const char *method, *path, *query;
  bool has_content_length;
  uint64_t content_length;
} parse_tests[] = {
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/images/abc" }, 0, 0,
    "GET", "/images/abc", "", false, 0 },
  { { "REQUEST_URI=/images/abc" }, 0, 0, "", "/images/abc", "", false, 0 },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/images/a%20b?flush=n" }, 0, 0,
    "PUT", "/images/a b", "flush=n", false, 0 },
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/images/x?" }, 0, 0,
    "GET", "/images/x", "", false, 0 },
  /* An encoded '?' is part of the path, not the start of the query. */
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/a%3Fb?c=d?e" }, 0, 0,
    "GET", "/a?b", "c=d?e", false, 0 },
  /* The query is not decoded. */
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/q?a=%41" }, 0, 0,
    "GET", "/q", "a=%41", false, 0 },
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/images/x%zz" }, REFUSED },
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/images/x%2" }, REFUSED },
  { { "REQUEST_METHOD=GET", "REQUEST_URI=/images/x%00y" }, REFUSED },
  { { "REQUEST_METHOD=GET" }, REFUSED },
  /* Content-Length. */
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=" }, 0, 0,
    "PUT", "/p", "", false, 0 },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=0" }, 0, 0,
    "PUT", "/p", "", true, 0 },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=12" }, 0, 0,
    "PUT", "/p", "", true, 12 },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=007" }, 0, 0,
    "PUT", "/p", "", true, 7 },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p",
      "CONTENT_LENGTH=18446744073709551615" }, 0, 0,
    "PUT", "/p", "", true, UINT64_MAX },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p",
      "CONTENT_LENGTH=18446744073709551616" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p",
      "CONTENT_LENGTH=99999999999999999999999" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=abc" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=-1" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=+5" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH= 5" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=5 " }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=0x10" }, REFUSED },
  { { "REQUEST_METHOD=PUT", "REQUEST_URI=/p", "CONTENT_LENGTH=1e3" }, REFUSED },
};

/* request_query: the value of key in query, NULL when absent. */
static const struct {
  const char *query, *key;
  size_t bufsize;
  const char *value;
} query_tests[] = {
  { "flush=y", "flush", 8, "y" },
  { "flush=n&x=1", "flush", 8, "n" },
  { "flush=n&x=1", "x", 8, "1" },
  { "", "flush", 8, NULL },
  { "x=1", "flush", 8, NULL },
  /* A key is matched whole. */
  { "flushx=y", "flush", 8, NULL },
  { "xflush=y", "flush", 8, NULL },
  { "flus=y", "flush", 8, NULL },
  /* Empty values: "key=" and a bare "key". */
  { "a=1&flush=", "flush", 8, "" },
  { "flush&a=1", "flush", 8, "" },
  /* Duplicates: the first wins. */
  { "flush=y&flush=n", "flush", 8, "y" },
  { "flush=&flush=n", "flush", 8, "" },
  /* Empty pieces are skipped. */
  { "&&flush=y&", "flush", 8, "y" },
  { "a=1&&b=2", "b", 8, "2" },
  /* Long values are cut to the buffer and end with "...", so that no
   * parser takes them: 56 zeros, 1048576 and 9 must not read as 1 MiB.
   * A buffer too small for the mark just cuts. */
  { "algorithm=blake2b", "algorithm", 6, "bl..." },
  { "block_size=0000000000000000000000000000000000000000000000000000000010485769", "block_size", 64,
    "000000000000000000000000000000000000000000000000000000001048..." },
  { "algorithm=blake2b", "algorithm", 4, "bla" },
  { "block_size=4194304", "block_size", 64, "4194304" },
  /* The value keeps what follows its '='. */
  { "a==b", "a", 8, "=b" },
};

/* request_header: an HTTP name mapped to its CGI parameter. */
static const struct {
  const char *name, *value;
} header_tests[] = {
  { "Range", "bytes=0-1" },
  { "range", "bytes=0-1" },
  { "Content-Range", "bytes 0-1/2" },
  { "Content-Type", "application/json" },
  { "content-length", "2" },
  { "X-Custom-Thing", "yes" },
  { "Origin", NULL },
};

static char *header_env[] = {
  "REQUEST_METHOD=PATCH", "REQUEST_URI=/images/h",
  "HTTP_RANGE=bytes=0-1", "HTTP_CONTENT_RANGE=bytes 0-1/2",
  "CONTENT_TYPE=application/json", "CONTENT_LENGTH=2",
  "HTTP_X_CUSTOM_THING=yes", NULL,
};

static bool
str_equal (const char *a, const char *b)
{
  return a == b || (a && b && strcmp (a, b) == 0);
}

static void
test_parse (void)
{
  for (size_t i = 0; i < sizeof parse_tests / sizeof parse_tests[0]; i++) {
    struct request req = { .query = "" };
    int r;

    req.fcgx.envp = (char **) parse_tests[i].params;
    r = request_parse (&req);
    if (parse_tests[i].result == -1)
      tap_ok (r == -1 && error_errno () == parse_tests[i].errnum,
              "parse row %zu: refused (%s)", i, error_message ());
    else
      tap_ok (r == 0 && str_equal (req.method, parse_tests[i].method)
              && str_equal (req.path, parse_tests[i].path)
              && str_equal (req.query, parse_tests[i].query)
              && req.has_content_length == parse_tests[i].has_content_length
              && req.content_length == parse_tests[i].content_length,
              "parse row %zu: %s \"%s\" ? \"%s\" length %s%" PRIu64, i,
              req.method, req.path ? req.path : "(null)", req.query,
              req.has_content_length ? "" : "none ", req.content_length);
    request_free (&req);
  }
}

static void
test_query (void)
{
  for (size_t i = 0; i < sizeof query_tests / sizeof query_tests[0]; i++) {
    struct request req = { .query = query_tests[i].query };
    char buf[64];
    const char *got = request_query (&req, query_tests[i].key, buf,
                                     query_tests[i].bufsize);

    tap_ok (str_equal (got, query_tests[i].value),
            "query \"%s\" key %s: %s%s%s", query_tests[i].query,
            query_tests[i].key, got ? "\"" : "", got ? got : "absent",
            got ? "\"" : "");
  }
}

static void
test_headers (void)
{
  struct request req = { .query = "" };

  req.fcgx.envp = header_env;
  tap_ok (request_parse (&req) == 0 && strcmp (req.method, "PATCH") == 0
          && req.content_length == 2, "parse the header request");
  for (size_t i = 0; i < sizeof header_tests / sizeof header_tests[0]; i++) {
    const char *got = request_header (&req, header_tests[i].name);

    tap_ok (str_equal (got, header_tests[i].value), "header %s: %s",
            header_tests[i].name, got ? got : "absent");
  }
  tap_ok (str_equal (request_param (&req, "REQUEST_URI"), "/images/h"),
          "request_param REQUEST_URI");
  request_free (&req);
}

/* Read what is there on fd without waiting; the count. */
static size_t
drain (int fd, unsigned char *last8)
{
  unsigned char buf[65536];
  size_t total = 0;
  ssize_t n;

  while ((n = recv (fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    total += (size_t) n;
    if (n >= 8)
      memcpy (last8, buf + n - 8, 8);
    else {
      memmove (last8, last8 + n, (size_t) (8 - n));
      memcpy (last8 + 8 - n, buf, (size_t) n);
    }
  }
  return total;
}

/* A write that the web server stops reading (client_timeout, here
 * SO_SNDTIMEO of 200 ms) stops inside a record; the abort that follows
 * must not put its 8-byte marker there, where it would be content. */
static void
test_abort_mid_record (void)
{
  static const unsigned char zeroes[8];
  struct request req = { .query = "", .method = "GET" };
  struct timeval timeout = { .tv_sec = 0, .tv_usec = 200000 };
  int size = 4096, fds[2];
  size_t length = 1024 * 1024, got;
  unsigned char last8[8] = { 0 };
  char *body = malloc (length);

  if (body == NULL || socketpair (AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
    tap_ok (false, "abort mid-record: set up");
    free (body);
    return;
  }
  setsockopt (fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt (fds[0], SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  memset (body, 'x', length);
  req.fcgx.ipcFd = fds[0];
  req.fcgx.requestId = 1;
  tap_ok (response_begin (&req, 200, "application/octet-stream", true,
                          length) == 0
          && response_write (&req, body, length) == -1,
          "abort mid-record: the write times out");
  /* The web server reads again, so that a marker would find room. */
  got = drain (fds[1], last8);
  response_abort (&req);
  got += drain (fds[1], last8);
  tap_ok (got > 8 && got < length && memcmp (last8, zeroes, 8) != 0,
          "abort mid-record: no marker inside the record (%zu bytes, "
          "ending %02x%02x%02x%02x%02x%02x%02x%02x)", got, last8[0],
          last8[1], last8[2], last8[3], last8[4], last8[5], last8[6],
          last8[7]);
  close (fds[0]);
  close (fds[1]);
  request_free (&req);
  free (body);
}

int
main (void)
{
  test_parse ();
  test_query ();
  test_headers ();
  test_abort_mid_record ();
  return tap_done ();
}
