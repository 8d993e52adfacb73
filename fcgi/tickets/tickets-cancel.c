/* SPDX-License-Identifier: Apache-2.0 */
/* DELETE /tickets/<id> and DELETE /tickets/: remove the descriptor
 * (spool_cancel: requests in flight stop at their next chunk, new ones
 * get 403), then wait, at most cancel_timeout seconds, until no request
 * of the ticket is in flight.  204 when none is (also for a ticket that
 * was not there: removing is idempotent), 409 when some still are; vdsm
 * then retries, and the retry waits again.  DELETE /tickets/ also waits
 * for tickets removed before whose requests are still in flight.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "api-response.h"
#include "error.h"
#include "http-status.h"
#include "spool-admin.h"
#include "stats.h"
#include "tickets-internal.h"
#include "transfer.h"

#define CANCEL_POLL_MS 50

static bool
in_flight (const char *id)
{
  struct stats_transfer_info info;

  return stats_transfer (id, &info) == 0 && info.in_flight > 0;
}

/* stats_transfer_foreach: the first cancelled transfer with requests
 * still in flight (one a DELETE answered 409 for, its file long gone). */
static int
find_cancelled_busy (const struct stats_transfer_info *info, void *busy)
{
  if (!info->cancelled || info->in_flight == 0)
    return 0;
  snprintf (busy, TRANSFER_ID_MAX + 1, "%s", info->id);
  return 1;
}

/* Wait until none of ids (and, with every_cancelled, no cancelled
 * transfer at all) has a request in flight, or timeout_s passed.
 * Returns false when one still has, its id in busy. */
static bool
wait_idle (char *const *ids, bool every_cancelled, unsigned timeout_s,
           char busy[TRANSFER_ID_MAX + 1])
{
  struct timespec pause = { .tv_nsec = CANCEL_POLL_MS * 1000000L };
  int64_t deadline = stats_now_ms () + (int64_t) timeout_s * 1000;

  for (;;) {
    busy[0] = '\0';
    for (size_t i = 0; ids[i] && busy[0] == '\0'; i++)
      if (in_flight (ids[i]))
        snprintf (busy, TRANSFER_ID_MAX + 1, "%s", ids[i]);
    if (busy[0] == '\0' && every_cancelled)
      stats_transfer_foreach (find_cancelled_busy, busy);
    if (busy[0] == '\0')
      return true;
    if (stats_now_ms () >= deadline)
      return false;
    nanosleep (&pause, NULL);
  }
}

/* spool_cancel, with "not there" as success.  -1 after answering. */
static int
cancel_one (struct request *req, const struct config *cfg, const char *id)
{
  if (spool_cancel (cfg->spool_dir, id) == 0 || error_errno () == ENOENT)
    return 0;
  api_error_recorded (req, HTTP_FAILURE_SPOOL_DELETE);
  return -1;
}

static void
answer_after_wait (struct request *req, const struct config *cfg,
                   char *const *ids, bool every_cancelled)
{
  char busy[TRANSFER_ID_MAX + 1];

  if (!wait_idle (ids, every_cancelled, cfg->cancel_timeout, busy))
    api_error (req, 409, "requests of ticket %s still in flight after %u s",
               busy, cfg->cancel_timeout);
  else
    response_begin (req, 204, NULL, false, 0);
}

void
tickets_cancel (struct request *req, const struct config *cfg,
                const char *id)
{
  char *ids[] = { (char *) id, NULL };

  if (cancel_one (req, cfg, id) == -1)
    return;
  answer_after_wait (req, cfg, ids, false);
}

void
tickets_cancel_all (struct request *req, const struct config *cfg)
{
  char **ids = spool_list (cfg->spool_dir);

  if (ids == NULL) {
    api_error (req, 500, "%s", error_message ());
    return;
  }
  for (size_t i = 0; ids[i]; i++)
    if (cancel_one (req, cfg, ids[i]) == -1)
      goto out;
  answer_after_wait (req, cfg, ids, true);
 out:
  spool_list_free (ids);
}
