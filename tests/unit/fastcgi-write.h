/* SPDX-License-Identifier: Apache-2.0 */
/* Building FastCGI records (headers, FCGI_PARAMS content) in the unit
 * tests that play the web server's side of a FastCGI connection.
 * Header-only like tap.h. */
#ifndef IMAGEXFER_FASTCGI_WRITE_H
#define IMAGEXFER_FASTCGI_WRITE_H

#include <stddef.h>
#include <string.h>

#include <fastcgi.h>

/* Write the FCGI_HEADER_LEN bytes of a record header at h. */
static inline void
fastcgi_header_write (unsigned char *h, int type, int request_id,
                      size_t length, size_t padding)
{
  h[0] = FCGI_VERSION_1;
  h[1] = (unsigned char) type;
  h[2] = (unsigned char) (request_id >> 8);
  h[3] = (unsigned char) (request_id & 0xff);
  h[4] = (unsigned char) (length >> 8);
  h[5] = (unsigned char) (length & 0xff);
  h[6] = (unsigned char) padding;
  h[7] = 0;
}

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
