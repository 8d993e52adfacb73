/* SPDX-License-Identifier: Apache-2.0 */
/* Range and Content-Range header values (RFC 9110 sections 14.1-14.4).
 *
 * Only the bytes unit and a single range are served.  Numbers are
 * parsed by hand: strtoull accepts signs, leading spaces and "0x"
 * prefixes, none of which belong in these headers, and silently
 * saturates on overflow.
 */
#include <config.h>

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>

#include "range.h"
#include "text-parse.h"

static void
skip_ows (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* One byte-range-spec or suffix-byte-range-spec. */
static bool
parse_one_spec (const char **p, struct range_spec *spec)
{
  spec->has_first = is_digit (**p);
  if (spec->has_first && !parse_digits (p, &spec->first))
    return false;
  skip_ows (p);
  if (**p != '-')
    return false;
  (*p)++;
  skip_ows (p);
  spec->has_last = is_digit (**p);
  if (spec->has_last && !parse_digits (p, &spec->last))
    return false;
  if (!spec->has_first && !spec->has_last)
    return false;
  if (spec->has_first && spec->has_last && spec->first > spec->last)
    return false;
  skip_ows (p);
  return true;
}

enum range_result
range_spec_parse (const char *value, struct range_spec *spec)
{
  const char *p = value;
  unsigned count = 0;

  skip_ows (&p);
  /* Range units are case-insensitive (RFC 9110 section 14.1). */
  if (strncasecmp (p, "bytes", 5) != 0)
    return RANGE_INVALID;
  p += 5;
  skip_ows (&p);
  if (*p != '=')
    return RANGE_INVALID;
  p++;
  skip_ows (&p);

  for (;;) {
    struct range_spec one;

    if (!parse_one_spec (&p, &one))
      return RANGE_INVALID;
    if (count++ == 0)
      *spec = one;
    if (*p == '\0')
      break;
    if (*p != ',')
      return RANGE_INVALID;
    p++;
    skip_ows (&p);
  }

  if (count > 1)
    return RANGE_MULTIPLE;
  if (!spec->has_first && spec->last == 0)
    return RANGE_UNSATISFIABLE;
  return RANGE_OK;
}

enum range_result
range_resolve (const struct range_spec *spec, uint64_t size,
               struct byte_range *out)
{
  uint64_t last;

  /* range_spec_parse refuses first > last; the length below would wrap. */
  assert (!spec->has_first || !spec->has_last || spec->first <= spec->last);
  if (size == 0)
    return RANGE_UNSATISFIABLE;

  if (!spec->has_first) {
    if (spec->last == 0)
      return RANGE_UNSATISFIABLE;
    out->length = spec->last < size ? spec->last : size;
    out->start = size - out->length;
    return RANGE_OK;
  }

  if (spec->first >= size)
    return RANGE_UNSATISFIABLE;
  last = spec->has_last && spec->last < size - 1 ? spec->last : size - 1;
  out->start = spec->first;
  out->length = last - spec->first + 1;
  return RANGE_OK;
}

/* "*" or a number. */
static bool
parse_number_or_star (const char **p, bool *has, uint64_t *value)
{
  if (**p == '*') {
    (*p)++;
    *has = false;
    *value = 0;
    return true;
  }
  *has = true;
  return parse_digits (p, value);
}

int
content_range_parse (const char *value, struct content_range *cr)
{
  const char *p = value;
  struct content_range r;

  skip_ows (&p);
  if (strncasecmp (p, "bytes ", 6) != 0)
    return -1;
  p += 6;
  if (!parse_digits (&p, &r.first) || *p++ != '-'
      || !parse_number_or_star (&p, &r.has_last, &r.last) || *p++ != '/'
      || !parse_number_or_star (&p, &r.has_total, &r.total))
    return -1;
  skip_ows (&p);
  if (*p != '\0')
    return -1;

  if (r.has_last && r.first > r.last)
    return -1;
  if (r.has_last && r.has_total && r.last >= r.total)
    return -1;
  *cr = r;
  return 0;
}
