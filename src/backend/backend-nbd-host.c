/* SPDX-License-Identifier: Apache-2.0 */
/* NBD server host names.  A descriptor's host goes to getaddrinfo and
 * into logs, status and events: whitespace, control characters or URL
 * syntax there are a mistake (or an attempt to make the server connect
 * somewhere the operator did not mean), and are refused with a reason
 * before anything resolves them. */
#include <config.h>

#include <arpa/inet.h>
#include <string.h>

#include "backend-nbd-host.h"

#define HOST_NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

static bool
is_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
    || (c >= '0' && c <= '9');
}

/* Digits and dots only: meant as an IPv4 address, and then it must be
 * one (not a host name "10.0.0.256"). */
static bool
looks_numeric (const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.')
      return false;
  return true;
}

static bool
address_valid (int family, const char *s, size_t len)
{
  char text[INET6_ADDRSTRLEN + 1];
  unsigned char binary[sizeof (struct in6_addr)];

  if (len >= sizeof text)
    return false;
  memcpy (text, s, len);
  text[len] = '\0';
  return inet_pton (family, text, binary) == 1;
}

static bool
labels_valid (const char *s, size_t len, const char **why)
{
  size_t label = 0;

  if (len > HOST_NAME_MAX_LEN) {
    *why = "longer than 253 characters";
    return false;
  }
  for (size_t i = 0; i <= len; i++) {
    char c = i < len ? s[i] : '.';

    if (c == '.') {
      if (label == 0) {
        *why = "an empty label (two dots, or a dot at the start or end)";
        return false;
      }
      if (label > LABEL_MAX_LEN) {
        *why = "a label longer than 63 characters";
        return false;
      }
      if (s[i - label] == '-' || s[i - 1] == '-') {
        *why = "a label that starts or ends with '-'";
        return false;
      }
      label = 0;
      continue;
    }
    if (!is_alnum (c) && c != '-') {
      *why = "a character other than letters, digits, '-' and '.'";
      return false;
    }
    label++;
  }
  return true;
}

bool
nbd_host_valid (const char *s, size_t len, bool ipv6_allowed,
                const char **why)
{
  if (len == 0) {
    *why = "empty";
    return false;
  }
  if (memchr (s, ':', len)) {
    if (!ipv6_allowed) {
      *why = "an IPv6 address must be in brackets here";
      return false;
    }
    if (!address_valid (AF_INET6, s, len)) {
      *why = "not a valid IPv6 address";
      return false;
    }
    return true;
  }
  if (looks_numeric (s, len)) {
    if (!address_valid (AF_INET, s, len)) {
      *why = "not a valid IPv4 address";
      return false;
    }
    return true;
  }
  return labels_valid (s, len, why);
}
