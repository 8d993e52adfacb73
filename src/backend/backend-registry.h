/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry: one row per kind of backend.
 *
 * A row says everything the rest of the server needs to know about a
 * backend: its name, how a descriptor selects it (a url it recognises,
 * fields whose presence imply it), the descriptor fields of its location
 * (stored in a struct of its own that nothing else looks into), how it
 * checks them, and its ops.  Listings (/api/v1/daemon, metrics scopes,
 * imagexferctl) walk the table; nothing outside the backends and this
 * table spells a backend's name.
 *
 * Adding a backend: write src/backend/backend-NAME.c defining
 *   const struct backend_type backend_type_NAME = { ... };
 * and add its row to backend-registry.c (and the file to src/local.mk).
 */
#ifndef IMAGEXFER_BACKEND_REGISTRY_H
#define IMAGEXFER_BACKEND_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "descriptor-field.h"

struct backend_ops;

struct backend_type {
  const char *name;                   /* "backend" value of a descriptor */
  const struct backend_ops *ops;

  /* The location: a struct of location_size bytes that fields (ended by
   * a row with a NULL name) describe. */
  size_t location_size;
  const struct descriptor_field *fields;

  /* The url forms it reads, for error messages ("file://"), and the
   * parser: 1 when url is one of them (location filled in), 0 when it
   * is not, -1 with error_set (EINVAL, "url: ...") when it is but is
   * malformed.  NULL: no url form. */
  const char *url_forms;
  int (*parse_url) (const char *url, void *location);

  /* Checks across fields, and defaults, once the fields are parsed.
   * 0, or -1 with error_set (EINVAL, ...).  NULL: nothing to check. */
  int (*check) (void *location);

  /* Optional: whether the location is inside one of roots (resolved
   * directories, NULL-terminated; image_roots).  0, or -1 with
   * error_set (EINVAL, "<field>: ... outside image_roots").  NULL: the
   * backend names no file (an NBD server), nothing to confine. */
  int (*confine) (const void *location, const char *const *roots);

  /* Optional, for the status of a transfer (/api, imagexferctl): whether
   * what the location names can be this backend's image at all, found
   * without opening it or waiting on anything (a FIFO named as a file
   * image is an invalid transfer, and says so).  0, or -1 with
   * error_set (EINVAL, reason).  NULL: nothing to look at. */
  int (*probe) (const void *location);
};

/* Every backend, in order, ended by NULL.  The first is the default of
 * a descriptor that names no backend and has no field selecting one. */
extern const struct backend_type *const backend_types[];

/* The row called name, or NULL. */
const struct backend_type *backend_type_find (const char *name);

/* How many rows backend_types has. */
size_t backend_type_count (void);

/* The names, for messages: "\"file\" or \"nbd\"". */
void backend_type_names (char *buf, size_t size);

#endif
