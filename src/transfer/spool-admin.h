/* SPDX-License-Identifier: Apache-2.0 */
/* Operator actions on the spool, shared by the management API
 * (PUT/DELETE /api/v2/transfers/<id>) and imagexferctl (add, cancel,
 * list): one implementation of "install atomically", "cancel" and
 * "which transfers are there".
 */
#ifndef IMAGEXFER_SPOOL_ADMIN_H
#define IMAGEXFER_SPOOL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

/* Validate text with transfer_parse (the workers' own parser) and, when
 * valid, write it to <spool_dir>/<id>.json atomically: a temporary file
 * starting with '.' in the spool, fsync, rename, fsync of the directory.
 * confined: a writer that may not name files outside image_roots (the
 * management API), and so no file at all when image_roots is not set.
 * mode: the file's permissions (config file_mode), whatever the umask.
 * *replaced says whether a descriptor was there before.  Returns 0, or
 * -1 with error_set: EINVAL (invalid id or descriptor, the message says
 * why) or an I/O errno. */
int spool_install (const char *spool_dir, const char *id, const char *text,
                   size_t len, bool confined, unsigned mode, bool *replaced);

/* The same for a descriptor that must already be there (extending a
 * transfer), text made from the file read_from describes
 * (transfer_read_descriptor's stat): if it was cancelled (deleted)
 * meanwhile, it stays so and this fails with ENOENT, instead of
 * bringing the transfer back; if it was replaced meanwhile, the newer
 * one stays and this fails with EAGAIN. */
struct stat;
int spool_update (const char *spool_dir, const char *id, const char *text,
                  size_t len, bool confined, unsigned mode,
                  const struct stat *read_from);

/* Cancel: unlink <spool_dir>/<id>.json and mark the transfer cancelled
 * in the shared state.  Returns 0, or -1 with error_set (ENOENT when
 * there is no such transfer, EINVAL for an invalid id). */
int spool_cancel (const char *spool_dir, const char *id);

/* The ids of every "<id>.json" in the spool with a valid id (dotfiles
 * and other names skipped), sorted.  Returns a NULL-terminated array
 * for spool_list_free, or NULL with error_set. */
char **spool_list (const char *spool_dir);
void spool_list_free (char **ids);

#endif
