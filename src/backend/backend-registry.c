/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry: the one table of backends. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "backend-registry.h"

/* Each defined in its backend's file. */
extern const struct backend_type backend_type_file;
extern const struct backend_type backend_type_nbd;
extern const struct backend_type backend_type_http;

const struct backend_type *const backend_types[] = {
  &backend_type_file,                 /* the default: first */
  &backend_type_nbd,
  &backend_type_http,
  NULL,
};

const struct backend_type *
backend_type_find (const char *name)
{
  for (size_t i = 0; backend_types[i]; i++)
    if (strcmp (backend_types[i]->name, name) == 0)
      return backend_types[i];
  return NULL;
}

size_t
backend_type_count (void)
{
  size_t n = 0;

  while (backend_types[n])
    n++;
  return n;
}

void
backend_type_names (char *buf, size_t size)
{
  size_t n = backend_type_count ();
  size_t used = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < n && used < size; i++) {
    const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
    int r = snprintf (buf + used, size - used, "%s\"%s\"", sep,
                      backend_types[i]->name);

    if (r < 0)
      break;
    used += (size_t) r;
  }
}
