/* SPDX-License-Identifier: Apache-2.0 */
/* Strict parsing of the numbers and escapes that come from clients and
 * config files.  strtoull would take signs, spaces and "0x"; these take
 * exactly what HTTP and our formats allow. */
#ifndef IMAGEXFER_TEXT_PARSE_H
#define IMAGEXFER_TEXT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1*DIGIT that fits uint64_t, at *p.  On success advances *p past the
 * digits; returns false (and leaves *p) without digits or on overflow. */
bool parse_digits (const char **p, uint64_t *value);

/* The whole of text is 1*DIGIT that fits uint64_t. */
bool parse_decimal (const char *text, uint64_t *value);

/* Decode %XX escapes of text[0..len) into a new string.  A broken
 * escape, and %00 (it would cut the C string short and hide the rest),
 * are refused.  NULL with errno EINVAL or ENOMEM. */
char *percent_decode (const char *text, size_t len);

/* The reverse, for a file path sent in a URL-encoded header: every byte
 * but letters, digits and "/._-" becomes %XX (upper-case hex), so the
 * path stays readable in logs.  A new string; NULL with errno ENOMEM. */
char *percent_encode (const char *text);

/* Whether text[0..len) is well-formed UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF): what JSON may carry. */
bool utf8_valid (const char *text, size_t len);

#endif
