/* SPDX-License-Identifier: Apache-2.0 */
/* Building FCGI_PARAMS content in the unit tests that play the web
 * server's side of a FastCGI connection.  Header-only like tap.h. */
#ifndef IMAGEXFER_FASTCGI_PARAMS_H
#define IMAGEXFER_FASTCGI_PARAMS_H

#include <stddef.h>
#include <string.h>

/* Append one name-value pair to out[*len...]: short names and values
 * only (one length byte each, under 128), as the tests send. */
static inline void
fastcgi_param_append (unsigned char *out, size_t *len, const char *name,
                      const char *value)
{
  size_t n = strlen (name), v = strlen (value);

  out[(*len)++] = (unsigned char) n;
  out[(*len)++] = (unsigned char) v;
  memcpy (out + *len, name, n);
  *len += n;
  memcpy (out + *len, value, v);
  *len += v;
}

#endif
