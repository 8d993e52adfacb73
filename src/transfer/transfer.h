/* SPDX-License-Identifier: Apache-2.0 */
/* Transfers: JSON descriptors in the spool directory (API.md section 1).
 *
 * Three dialects are read into one normalized struct transfer: canonical
 * fields, the oVirt ImageIO ticket fields (url, ops, timeout, dirty,
 * filename, transfer_id) and the CloudStack fields (file, socket, export,
 * export_bitmap, read_only, idle_timeout_seconds).
 */
#ifndef IMAGEXFER_TRANSFER_H
#define IMAGEXFER_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <json-c/json.h>

#include "descriptor-field.h"

#define TRANSFER_ID_MAX 128
/* Descriptors are a few hundred bytes; a larger file is a mistake (or an
 * attack on a shared spool) and is never read into memory. */
#define TRANSFER_DESCRIPTOR_MAX (1024 * 1024)

struct backend_type;

enum transfer_op {
  TRANSFER_OP_READ = 1,
  TRANSFER_OP_WRITE = 2,
};

struct transfer {
  char id[TRANSFER_ID_MAX + 1];
  /* Where the image is: the backend's row in the registry, and its
   * location fields in a struct of that backend's own (see
   * backend-registry.h); nothing outside the backend looks inside. */
  const struct backend_type *type;
  void *location;

  bool dirty;                 /* ImageIO: use the server's single bitmap */
  bool has_size;
  uint64_t size;              /* when has_size: the transfer's size */
  unsigned ops;               /* TRANSFER_OP_* bits; WRITE implies READ */
  bool has_expires;
  int64_t expires;            /* Unix seconds */
  int64_t timeout;            /* ImageIO sliding timeout, seconds; 0 none */
  int64_t inactivity_timeout; /* CloudStack idle timeout, seconds; 0 none */
  bool sparse;                /* zeroing may deallocate; default true */
  bool read_only;             /* CloudStack's read_only, folded into ops */
  char *filename;             /* Content-Disposition, or NULL */
  char *transfer_id;          /* free text for logs, or NULL */

  /* Identity of the spool file this was read from (for cancel checks). */
  dev_t spool_dev;
  ino_t spool_ino;
  time_t spool_mtime;
  long spool_mtime_nsec;      /* st_mtim: which version is the newer */
};

/* Ids are 1-128 characters of [A-Za-z0-9._-], not starting with '.'. */
bool transfer_id_valid (const char *id);

/* The directories file images must be in (config image_roots, resolved,
 * NULL-terminated; not copied: the caller keeps them alive), or NULL for
 * no such rule.  Every descriptor parsed after the call is held to them:
 * an image outside is an invalid transfer. */
void transfer_set_image_roots (const char *const *roots);
const char *const *transfer_image_roots (void);

/* Whether a path, resolved (symbolic links, "..") as it stands now, is
 * inside one of roots.  A path that does not exist yet is resolved by its
 * parent directory. */
bool transfer_path_confined (const char *path, const char *const *roots);

/* Fill t from a parsed JSON object.  id must be valid.  On a validation
 * failure returns -1 with error_set (EINVAL, "<reason>"); t is left
 * freed.  Unknown fields are ignored (logged at debug). */
int transfer_from_json (const char *id, json_object *obj, struct transfer *t);

/* Whether key names a descriptor field (of any backend, aliases
 * included).  Other keys are ignored, or refused when a typo away from a
 * known one. */
bool transfer_field_known (const char *key);

/* Parse descriptor text (not necessarily NUL-terminated).  Same contract
 * as transfer_from_json; malformed JSON is EINVAL too. */
int transfer_parse (const char *id, const char *text, size_t len,
                    struct transfer *t);

/* Read <spool_dir>/<id>.json.  Returns 0, or -1 with error_set:
 *   EINVAL  id is not a valid id (no file is opened)
 *   ENOENT  no such file, or the file is invalid (the reason is logged
 *           once at warning level, and error_message says it)
 *   other   an I/O error reading the spool. */
int transfer_load (const char *spool_dir, const char *id, struct transfer *t);

/* What transfer_load reads, for callers that need the reason a file is
 * unusable (transfer status): <spool_dir>/<id>.json opened without
 * following links or blocking, a regular file of at most
 * TRANSFER_DESCRIPTOR_MAX bytes.  Returns 0 with *text (free it; not
 * NUL-terminated), *len and *st; or -1 with error_set:
 *   ENOENT  no such file
 *   EINVAL  an invalid id, or a file that is not a descriptor (a
 *           symbolic link, a FIFO, too large: *st describes it)
 *   other   an I/O error reading the spool. */
int transfer_read_descriptor (const char *spool_dir, const char *id,
                              char **text, size_t *len, struct stat *st);

/* True while a spool file for t's id exists.  Requests in flight call it
 * between chunks: deleting the file cancels them; replacing it (a new
 * version renamed into place) does not. */
bool transfer_still_present (const char *spool_dir, const struct transfer *t);

/* The normalized descriptor as JSON (canonical field names), for the
 * management API and imagexferctl. */
json_object *transfer_to_json (const struct transfer *t);

void transfer_free (struct transfer *t);

/* Parse an "expires" value given as an RFC 3339 string
 * ("2026-11-21T10:00:00Z", "...+02:00", fractional seconds allowed).
 * Returns 0 and stores Unix seconds, or -1. */
int transfer_parse_rfc3339 (const char *text, int64_t *seconds);

/* The descriptor schema (transfer-fields.c): the fields every
 * descriptor may have, whatever its backend, one row each (name, alias,
 * type, where in struct transfer; descriptor-field.h), ended by a row
 * with a NULL name, in the order they are written back.  Each backend's
 * location fields are a table of its own (backend-registry.h). */
extern const struct descriptor_field transfer_fields[];

#endif
