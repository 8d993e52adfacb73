/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "text-parse.h"

bool
parse_digits (const char **p, uint64_t *value)
{
  const char *s = *p;
  uint64_t v = 0;

  if (*s < '0' || *s > '9')
    return false;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (__builtin_mul_overflow (v, 10, &v)
        || __builtin_add_overflow (v, (uint64_t) (*s - '0'), &v))
      return false;
  }
  *p = s;
  *value = v;
  return true;
}

bool
parse_decimal (const char *text, uint64_t *value)
{
  return parse_digits (&text, value) && *text == '\0';
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
percent_decode (const char *text, size_t len)
{
  char *out = malloc (len + 1);
  size_t j = 0;

  if (out == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '%') {
      int hi = i + 2 < len ? hex_value (text[i + 1]) : -1;
      int lo = i + 2 < len ? hex_value (text[i + 2]) : -1;

      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free (out);
        errno = EINVAL;
        return NULL;
      }
      out[j++] = (char) (hi * 16 + lo);
      i += 2;
    }
    else
      out[j++] = text[i];
  }
  out[j] = '\0';
  return out;
}

static bool
percent_keeps (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || (c != '\0' && strchr ("/._-", c));
}

char *
percent_encode (const char *text)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t len = strlen (text);
  char *out, *q;

  /* Each byte takes at most three; a length that big cannot be a path. */
  if (len > (SIZE_MAX - 1) / 3 || !(out = malloc (3 * len + 1))) {
    errno = ENOMEM;
    return NULL;
  }
  q = out;
  for (const char *p = text; *p; p++) {
    unsigned char c = (unsigned char) *p;

    if (percent_keeps (c))
      *q++ = (char) c;
    else {
      *q++ = '%';
      *q++ = hex[c >> 4];
      *q++ = hex[c & 15];
    }
  }
  *q = '\0';
  return out;
}

bool
utf8_valid (const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *) text;
  size_t i = 0;

  while (i < len) {
    unsigned char c = s[i];
    size_t n;
    uint32_t cp, min;

    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1; cp = c & 0x1f; min = 0x80;
    }
    else if ((c & 0xf0) == 0xe0) {
      n = 2; cp = c & 0x0f; min = 0x800;
    }
    else if ((c & 0xf8) == 0xf0) {
      n = 3; cp = c & 0x07; min = 0x10000;
    }
    else
      return false;
    if (len - i <= n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    /* Overlong forms, UTF-16 surrogates and beyond U+10FFFF: what a
     * JSON parser that validates (ours does) refuses. */
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return false;
    i += n + 1;
  }
  return true;
}
