/* SPDX-License-Identifier: Apache-2.0 */
/* Which NBD server host names a descriptor may give (backend-nbd-host.c). */
#ifndef IMAGEXFER_BACKEND_NBD_HOST_H
#define IMAGEXFER_BACKEND_NBD_HOST_H

#include <stdbool.h>
#include <stddef.h>

/* s[0..len) is a host name of RFC 1123 labels, an IPv4 address in
 * dotted-quad form, or an IPv6 address (without brackets; only when
 * ipv6_allowed).  When it is not, *why says what is wrong with it (a
 * static string). */
bool nbd_host_valid (const char *s, size_t len, bool ipv6_allowed,
                     const char **why);

#endif
