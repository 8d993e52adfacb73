/* SPDX-License-Identifier: Apache-2.0 */
/* Range and Content-Range parsing: one table row per header value. */
#include <config.h>

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "range.h"
#include "tap.h"

static const char *const result_names[] = {
  [RANGE_OK] = "OK",
  [RANGE_INVALID] = "INVALID",
  [RANGE_MULTIPLE] = "MULTIPLE",
  [RANGE_UNSATISFIABLE] = "UNSATISFIABLE",
};

/* A Range value against a resource of size bytes, as the GET route
 * takes it: parsed once, resolved against the size. */
static const struct {
  const char *value;
  uint64_t size;
  enum range_result result;
  uint64_t start, length;       /* when RANGE_OK */
} range_tests[] = {
  /* The three forms. */
  { "bytes=0-0", 100, RANGE_OK, 0, 1 },
  { "bytes=0-99", 100, RANGE_OK, 0, 100 },
  { "bytes=10-19", 100, RANGE_OK, 10, 10 },
  { "bytes=99-99", 100, RANGE_OK, 99, 1 },
  { "bytes=10-", 100, RANGE_OK, 10, 90 },
  { "bytes=0-", 100, RANGE_OK, 0, 100 },
  { "bytes=-1", 100, RANGE_OK, 99, 1 },
  { "bytes=-10", 100, RANGE_OK, 90, 10 },
  { "bytes=-100", 100, RANGE_OK, 0, 100 },
  /* Clipping: B past the end, suffix longer than the resource. */
  { "bytes=0-1000", 100, RANGE_OK, 0, 100 },
  { "bytes=50-18446744073709551615", 100, RANGE_OK, 50, 50 },
  { "bytes=-101", 100, RANGE_OK, 0, 100 },
  { "bytes=-18446744073709551615", 100, RANGE_OK, 0, 100 },
  { "bytes=0-0", 1, RANGE_OK, 0, 1 },
  /* Large resources. */
  { "bytes=4294967296-4294967297", UINT64_C (1) << 40, RANGE_OK,
    UINT64_C (4294967296), 2 },
  { "bytes=18446744073709551614-", UINT64_MAX, RANGE_OK,
    UINT64_C (18446744073709551614), 1 },
  /* Whitespace around tokens, and the unit's case. */
  { "bytes= 0-0", 100, RANGE_OK, 0, 1 },
  { " bytes = 0 - 9 ", 100, RANGE_OK, 0, 10 },
  { "bytes=\t5-\t6", 100, RANGE_OK, 5, 2 },
  { "Bytes=1-2", 100, RANGE_OK, 1, 2 },
  { "bytes=007-008", 100, RANGE_OK, 7, 2 },
  /* Unsatisfiable. */
  { "bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=100-200", 100, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=0-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=-5", 0, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0 },
  { "bytes=18446744073709551615-", 100, RANGE_UNSATISFIABLE, 0, 0 },
  /* Several ranges. */
  { "bytes=0-0,2-3", 100, RANGE_MULTIPLE, 0, 0 },
  { "bytes=0-0, 2-3", 100, RANGE_MULTIPLE, 0, 0 },
  { "bytes=-5,0-1", 100, RANGE_MULTIPLE, 0, 0 },
  { "bytes=0-1,0-1", 100, RANGE_MULTIPLE, 0, 0 },
  /* Syntax errors. */
  { "", 100, RANGE_INVALID, 0, 0 },
  { "bytes", 100, RANGE_INVALID, 0, 0 },
  { "bytes=", 100, RANGE_INVALID, 0, 0 },
  { "bytes=-", 100, RANGE_INVALID, 0, 0 },
  { "bytes=5-3", 100, RANGE_INVALID, 0, 0 },
  { "bytes=1-0", 100, RANGE_INVALID, 0, 0 },
  { "items=0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytesx=0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes 0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes:0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes==0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0-18446744073709551616", 100, RANGE_INVALID, 0, 0 },
  { "bytes=18446744073709551616-", 100, RANGE_INVALID, 0, 0 },
  { "bytes=-18446744073709551616", 100, RANGE_INVALID, 0, 0 },
  { "bytes=99999999999999999999999-", 100, RANGE_INVALID, 0, 0 },
  { "bytes=+1-2", 100, RANGE_INVALID, 0, 0 },
  { "bytes=-1-2", 100, RANGE_INVALID, 0, 0 },
  { "bytes=1--2", 100, RANGE_INVALID, 0, 0 },
  { "bytes=1-+2", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0x10-0x20", 100, RANGE_INVALID, 0, 0 },
  { "bytes=1 0-20", 100, RANGE_INVALID, 0, 0 },
  { "bytes=1.5-2", 100, RANGE_INVALID, 0, 0 },
  { "bytes=a-b", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0-1,", 100, RANGE_INVALID, 0, 0 },
  { "bytes=,0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0-1,x", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0-1;", 100, RANGE_INVALID, 0, 0 },
  { "bytes=0-1 x", 100, RANGE_INVALID, 0, 0 },
  { "=0-1", 100, RANGE_INVALID, 0, 0 },
  { "bytes=5-3", 0, RANGE_INVALID, 0, 0 },
};

static enum range_result
range_parse (const char *value, uint64_t size, struct byte_range *out)
{
  struct range_spec spec;
  enum range_result r = range_spec_parse (value, &spec);

  return r == RANGE_OK ? range_resolve (&spec, size, out) : r;
}

static const struct {
  const char *value;
  int result;
  struct content_range cr;      /* when 0 */
} content_range_tests[] = {
  { "bytes 0-99/100", 0, { 0, true, 99, true, 100 } },
  { "bytes 0-0/1", 0, { 0, true, 0, true, 1 } },
  { "bytes 10-19/*", 0, { 10, true, 19, false, 0 } },
  { "bytes 10-*/100", 0, { 10, false, 0, true, 100 } },
  { "bytes 10-*/*", 0, { 10, false, 0, false, 0 } },
  { "bytes 0-18446744073709551614/18446744073709551615", 0,
    { 0, true, UINT64_C (18446744073709551614), true, UINT64_MAX } },
  { " bytes 1-2/3 ", 0, { 1, true, 2, true, 3 } },
  { "Bytes 1-2/3", 0, { 1, true, 2, true, 3 } },
  { "bytes 5-3/10", -1, { 0 } },
  { "bytes 0-100/100", -1, { 0 } },
  { "bytes 0-200/100", -1, { 0 } },
  { "bytes=0-1/2", -1, { 0 } },
  { "bytes 0-1", -1, { 0 } },
  { "bytes 0-1/", -1, { 0 } },
  { "bytes -1/2", -1, { 0 } },
  { "bytes */100", -1, { 0 } },
  { "bytes  0-1/2", -1, { 0 } },
  { "bytes 0 -1/2", -1, { 0 } },
  { "bytes 0-1 /2", -1, { 0 } },
  { "bytes 0-1/2x", -1, { 0 } },
  { "bytes +0-1/2", -1, { 0 } },
  { "bytes 0x1-2/3", -1, { 0 } },
  { "bytes 0-18446744073709551616/*", -1, { 0 } },
  { "bytes 0-1/18446744073709551616", -1, { 0 } },
  { "items 0-1/2", -1, { 0 } },
  { "", -1, { 0 } },
  { "bytes", -1, { 0 } },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof range_tests / sizeof range_tests[0]; i++) {
    struct byte_range out = { 0, 0 };
    enum range_result r;
    bool pass;

    r = range_parse (range_tests[i].value, range_tests[i].size, &out);
    pass = r == range_tests[i].result;
    if (pass && r == RANGE_OK)
      pass = out.start == range_tests[i].start
             && out.length == range_tests[i].length;
    tap_ok (pass, "range_parse \"%s\" size %" PRIu64 " -> %s "
            "(got %s start %" PRIu64 " length %" PRIu64 ")",
            range_tests[i].value, range_tests[i].size,
            result_names[range_tests[i].result], result_names[r], out.start,
            out.length);
  }

  /* The spec as written, before it meets a size. */
  {
    struct range_spec spec;

    tap_ok (range_spec_parse ("bytes=-7", &spec) == RANGE_OK
            && !spec.has_first && spec.has_last && spec.last == 7,
            "range_spec_parse suffix form keeps N in last");
    tap_ok (range_spec_parse ("bytes=3-", &spec) == RANGE_OK
            && spec.has_first && spec.first == 3 && !spec.has_last,
            "range_spec_parse open form has no last");
    tap_ok (range_spec_parse ("bytes=-0", &spec) == RANGE_UNSATISFIABLE,
            "range_spec_parse bytes=-0 is unsatisfiable");
  }

  for (size_t i = 0;
       i < sizeof content_range_tests / sizeof content_range_tests[0]; i++) {
    struct content_range cr;
    const struct content_range *want = &content_range_tests[i].cr;
    int r;
    bool pass;

    memset (&cr, 0xa5, sizeof cr);
    r = content_range_parse (content_range_tests[i].value, &cr);
    pass = r == content_range_tests[i].result;
    if (pass && r == 0)
      pass = cr.first == want->first && cr.has_last == want->has_last
             && (!want->has_last || cr.last == want->last)
             && cr.has_total == want->has_total
             && (!want->has_total || cr.total == want->total);
    tap_ok (pass, "content_range_parse \"%s\" -> %d (got %d)",
            content_range_tests[i].value, content_range_tests[i].result, r);
  }

  return tap_done ();
}
