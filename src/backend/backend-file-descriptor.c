/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend in the registry: its descriptor fields ("path", alias
 * CloudStack's "file", and "offset"), its url form (file:///abs/path)
 * and its checks. */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-registry.h"
#include "error.h"

#define LOCATION(field) offsetof (struct file_location, field)

static const struct descriptor_field file_fields[] = {
  { "path", "file", &descriptor_string, LOCATION (path),
    DESCRIPTOR_ALWAYS, DESCRIPTOR_LOCATION },
  { "offset", NULL, &descriptor_uint64, LOCATION (offset), DESCRIPTOR_ALWAYS,
    0 },
  { .name = NULL },
};

/* file:///abs/path (an empty or "localhost" authority); percent-escapes
 * are decoded. */
static int
file_parse_url (const char *url, void *location)
{
  struct file_location *loc = location;
  const char *rest = url + 7;

  if (strncmp (url, "file://", 7) != 0)
    return 0;
  if (strncmp (rest, "localhost/", 10) == 0)
    rest += 9;
  if (rest[0] != '/') {
    error_set (EINVAL, "url: file URL must be file:///absolute/path: \"%s\"",
               url);
    return -1;
  }
  if (strpbrk (rest, "?#")) {
    error_set (EINVAL, "url: file URL must not have a query: \"%s\"", url);
    return -1;
  }
  loc->path = descriptor_url_decode (url, rest, strlen (rest));
  return loc->path ? 1 : -1;
}

static int
file_check (void *location)
{
  const struct file_location *loc = location;

  if (loc->path == NULL) {
    error_set (EINVAL, "path: required for the file backend");
    return -1;
  }
  /* Checked here, not by the field's type, so that CloudStack's "file"
   * is reported under the field's name, as every other path rule. */
  if (loc->path[0] != '/') {
    error_set (EINVAL, "path: must be absolute, not \"%s\"", loc->path);
    return -1;
  }
  return 0;
}

static int
file_confine (const void *location, const char *const *roots)
{
  const struct file_location *loc = location;

  if (!transfer_path_confined (loc->path, roots)) {
    error_set (EINVAL, "path: \"%s\" is outside image_roots", loc->path);
    return -1;
  }
  return 0;
}

/* What stat says the path is, for the reason. */
static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

static int
file_probe (const void *location)
{
  const struct file_location *loc = location;
  struct stat st;

  /* stat never opens, so a FIFO cannot block it; a missing file is the
   * open's to report (a request answers it), not an invalid transfer. */
  if (stat (loc->path, &st) == -1 || S_ISREG (st.st_mode)
      || S_ISBLK (st.st_mode))
    return 0;
  error_set (EINVAL, "path: \"%s\" is %s, not a regular file or a block "
             "device", loc->path, file_kind (st.st_mode));
  return -1;
}

const struct backend_type backend_type_file = {
  .name = "file",
  .ops = &backend_file_ops,
  .location_size = sizeof (struct file_location),
  .fields = file_fields,
  .url_forms = "file://",
  .parse_url = file_parse_url,
  .check = file_check,
  .confine = file_confine,
  .probe = file_probe,
};
