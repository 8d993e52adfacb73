/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 timestamps for the "expires" field of a descriptor.
 *
 * Only the strict internet profile is accepted:
 *   YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)
 * RFC 3339 allows 't' and 'z' in lower case, so we do too.  Fractional
 * seconds are truncated: expiry has one-second resolution.  The date is
 * converted with our own arithmetic rather than timegm/mktime so the
 * result never depends on TZ or locale.
 */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>

#include "transfer.h"

/* Read exactly n decimal digits at *p and advance; false otherwise. */
static bool
read_digits (const char **p, int n, int *value)
{
  int v = 0;

  for (int i = 0; i < n; i++) {
    char c = (*p)[i];

    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *value = v;
  return true;
}

static bool
expect (const char **p, char c)
{
  if (**p != c)
    return false;
  (*p)++;
  return true;
}

static bool
is_leap_year (int year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month (int year, int month)
{
  static const int days[12] = { 31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31 };

  if (month == 2 && is_leap_year (year))
    return 29;
  return days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil (int64_t y, unsigned m, unsigned d)
{
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned) (y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t) doe - 719468;
}

int
transfer_parse_rfc3339 (const char *text, int64_t *seconds)
{
  const char *p = text;
  int year, month, day, hour, minute, second;
  int offset_sign = 0, offset_hour = 0, offset_minute = 0;
  int64_t result;

  if (!read_digits (&p, 4, &year) || !expect (&p, '-')
      || !read_digits (&p, 2, &month) || !expect (&p, '-')
      || !read_digits (&p, 2, &day))
    return -1;
  if (*p != 'T' && *p != 't')
    return -1;
  p++;
  if (!read_digits (&p, 2, &hour) || !expect (&p, ':')
      || !read_digits (&p, 2, &minute) || !expect (&p, ':')
      || !read_digits (&p, 2, &second))
    return -1;

  /* time-secfrac = "." 1*DIGIT */
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return -1;
    while (*p >= '0' && *p <= '9')
      p++;
  }

  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-') {
    offset_sign = *p == '+' ? 1 : -1;
    p++;
    if (!read_digits (&p, 2, &offset_hour) || !expect (&p, ':')
        || !read_digits (&p, 2, &offset_minute))
      return -1;
  }
  else
    return -1;
  if (*p != '\0')
    return -1;

  if (month < 1 || month > 12 || day < 1
      || day > days_in_month (year, month))
    return -1;
  /* Second 60 is a leap second; it counts as the next second. */
  if (hour > 23 || minute > 59 || second > 60)
    return -1;
  if (offset_hour > 23 || offset_minute > 59)
    return -1;

  result = days_from_civil (year, (unsigned) month, (unsigned) day) * 86400
           + hour * 3600 + minute * 60 + second;
  /* Local time = UTC + offset, so UTC = local time - offset. */
  result -= offset_sign * (offset_hour * 3600 + offset_minute * 60);
  *seconds = result;
  return 0;
}
