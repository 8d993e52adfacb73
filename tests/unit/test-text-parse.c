/* SPDX-License-Identifier: Apache-2.0 */
/* percent_encode and percent_decode (src/util/text-parse.c): one table row
 * per string. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "text-parse.h"

static const struct {
  const char *text;
  const char *encoded;
} encode_tests[] = {
  { "", "" },
  { "/var/lib/images/disk.raw", "/var/lib/images/disk.raw" },
  { "/a_b-c.D9", "/a_b-c.D9" },
  { "/with space", "/with%20space" },
  { "/100%", "/100%25" },
  { "/a+b?c#d&e=f", "/a%2Bb%3Fc%23d%26e%3Df" },
  { "/tilde~", "/tilde%7E" },
  { "/new\nline", "/new%0Aline" },
  { "/caf\xc3\xa9", "/caf%C3%A9" },
  { "/\xff", "/%FF" },
};

static const struct {
  const char *text;
  const char *decoded;          /* NULL: refused with EINVAL */
} decode_tests[] = {
  { "/plain", "/plain" },
  { "/with%20space", "/with space" },
  { "/lower%2fcase", "/lower/case" },
  { "/a%", NULL },
  { "/a%4", NULL },
  { "/a%zz", NULL },
  { "/nul%00byte", NULL },
};

/* Well-formed UTF-8 or not: what a validating JSON parser would say. */
static const struct {
  const char *text;
  bool valid;
} utf8_tests[] = {
  { "disk0", true },
  { "\xc3\xa9t\xc3\xa9", true },               /* été */
  { "\xf0\x9f\x92\xbe", true },                 /* U+1F4BE */
  { "s8i\xd9k", false },                        /* a lead byte alone */
  { "\xc3", false },                             /* cut short */
  { "\xc0\xaf", false },                         /* overlong "/" */
  { "\xed\xa0\x80", false },                     /* a surrogate */
  { "\xf4\x90\x80\x80", false },                 /* past U+10FFFF */
  { "\xff", false },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof encode_tests / sizeof encode_tests[0]; i++) {
    char *encoded = percent_encode (encode_tests[i].text);
    char *back = encoded ? percent_decode (encoded, strlen (encoded)) : NULL;

    tap_ok (encoded && strcmp (encoded, encode_tests[i].encoded) == 0,
            "percent_encode row %zu: \"%s\" (want \"%s\")", i,
            encoded ? encoded : "(null)", encode_tests[i].encoded);
    tap_ok (back && strcmp (back, encode_tests[i].text) == 0,
            "percent_decode undoes percent_encode, row %zu", i);
    free (encoded);
    free (back);
  }
  for (size_t i = 0; i < sizeof decode_tests / sizeof decode_tests[0]; i++) {
    const char *text = decode_tests[i].text;
    char *decoded;

    errno = 0;
    decoded = percent_decode (text, strlen (text));
    if (decode_tests[i].decoded)
      tap_ok (decoded && strcmp (decoded, decode_tests[i].decoded) == 0,
              "percent_decode \"%s\" -> \"%s\"", text,
              decoded ? decoded : "(null)");
    else
      tap_ok (!decoded && errno == EINVAL,
              "percent_decode \"%s\" refused with EINVAL", text);
    free (decoded);
  }
  for (size_t i = 0; i < sizeof utf8_tests / sizeof utf8_tests[0]; i++)
    tap_ok (utf8_valid (utf8_tests[i].text, strlen (utf8_tests[i].text))
            == utf8_tests[i].valid, "utf8_valid test %zu: %s", i,
            utf8_tests[i].valid ? "valid" : "refused");
  return tap_done ();
}
