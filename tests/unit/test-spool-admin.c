/* SPDX-License-Identifier: Apache-2.0 */
/* Installing, updating and cancelling descriptors in a real (temporary)
 * spool directory: what is left in it after each step. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "spool-admin.h"
#include "tap.h"

static char spool[] = "/tmp/test-spool-admin.XXXXXX";

/* Every name in the spool but . and .., joined with spaces. */
static const char *
spool_names (void)
{
  static char names[1024];
  struct dirent *d;
  DIR *dir = opendir (spool);

  names[0] = '\0';
  while (dir != NULL && (d = readdir (dir)) != NULL) {
    if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
      continue;
    if (names[0] != '\0')
      strcat (names, " ");
    strncat (names, d->d_name, sizeof names - strlen (names) - 2);
  }
  if (dir != NULL)
    closedir (dir);
  return names;
}

static const char *
read_descriptor (const char *id)
{
  static char text[256];
  char path[512];
  FILE *f;
  size_t n;

  snprintf (path, sizeof path, "%s/%s.json", spool, id);
  f = fopen (path, "r");
  if (f == NULL)
    return "";
  n = fread (text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose (f);
  return text;
}

int
main (void)
{
  static const char first[] = "{\"path\": \"/dev/null\", \"timeout\": 60}";
  static const char second[] = "{\"path\": \"/dev/null\", \"timeout\": 600}";
  bool replaced;
  struct stat st, read_from;
  int r;
  char path[512];

  if (mkdtemp (spool) == NULL) {
    perror ("mkdtemp");
    return 1;
  }

  memset (&read_from, 0, sizeof read_from);
  r = spool_update (spool, "t1", second, strlen (second), false, 0640,
                    &read_from);
  tap_ok (r == -1 && error_errno () == ENOENT,
          "update of an absent transfer fails with ENOENT (%s)",
          error_message ());
  tap_ok (strcmp (spool_names (), "") == 0,
          "and leaves nothing in the spool: '%s'", spool_names ());

  tap_ok (spool_install (spool, "t1", first, strlen (first), false, 0640,
                         &replaced) == 0 && !replaced, "install a new one");
  tap_ok (spool_install (spool, "t1", first, strlen (first), false, 0640,
                         &replaced) == 0 && replaced,
          "install again: replaced");
  snprintf (path, sizeof path, "%s/t1.json", spool);
  stat (path, &read_from);
  tap_ok (spool_update (spool, "t1", second, strlen (second), false, 0600,
                        &read_from) == 0, "update it");
  tap_ok (strcmp (read_descriptor ("t1"), second) == 0,
          "the new text is in place");
  snprintf (path, sizeof path, "%s/t1.json", spool);
  tap_ok (stat (path, &st) == 0 && (st.st_mode & 07777) == 0600,
          "with the mode asked for");
  tap_ok (strcmp (spool_names (), "t1.json") == 0,
          "no temporary file left: '%s'", spool_names ());

  stat (path, &read_from);
  tap_ok (spool_update (spool, "t1", "{\"path\": ", 9, false, 0640,
                        &read_from) == -1
          && error_errno () == EINVAL, "an invalid update is refused");
  tap_ok (strcmp (read_descriptor ("t1"), second) == 0,
          "and the descriptor is unchanged");

  /* An update made from a text read before the descriptor was replaced
   * (another extend, an administrator) would bring the old fields back:
   * it is refused and the newer descriptor stays. */
  stat (path, &read_from);
  tap_ok (spool_install (spool, "t1", first, strlen (first), false, 0640,
                         &replaced) == 0, "replace it meanwhile");
  r = spool_update (spool, "t1", second, strlen (second), false, 0640,
                    &read_from);
  tap_ok (r == -1 && error_errno () == EAGAIN,
          "an update from the text read before fails with EAGAIN (%s)",
          error_message ());
  tap_ok (strcmp (read_descriptor ("t1"), first) == 0,
          "and the newer descriptor stays");
  tap_ok (strcmp (spool_names (), "t1.json") == 0,
          "no temporary file left: '%s'", spool_names ());
  /* Edited in place (same inode): seen by its size and time. */
  {
    static const char edited[] = "{\"path\": \"/dev/null\"}";
    FILE *f;

    stat (path, &read_from);
    f = fopen (path, "w");
    if (f) {
      fputs (edited, f);
      fclose (f);
    }
    r = spool_update (spool, "t1", second, strlen (second), false, 0640,
                      &read_from);
    tap_ok (f != NULL && r == -1 && error_errno () == EAGAIN
            && strcmp (read_descriptor ("t1"), edited) == 0,
            "an update from the text read before an edit in place fails "
            "too, the edit stays (%s)", error_message ());
  }

  stat (path, &read_from);
  tap_ok (spool_cancel (spool, "t1") == 0, "cancel");
  tap_ok (spool_update (spool, "t1", first, strlen (first), false, 0640,
                        &read_from)
          == -1 && error_errno () == ENOENT,
          "an update after the cancel fails: the transfer stays cancelled");
  tap_ok (strcmp (spool_names (), "") == 0,
          "the spool is empty: '%s'", spool_names ());

  rmdir (spool);
  return tap_done ();
}
