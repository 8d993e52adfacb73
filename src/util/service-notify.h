/* SPDX-License-Identifier: Apache-2.0 */
/* Telling systemd how the service is doing (Type=notify): the
 * sd_notify(3) protocol, one datagram to $NOTIFY_SOCKET, without
 * linking libsystemd. */
#ifndef IMAGEXFER_SERVICE_NOTIFY_H
#define IMAGEXFER_SERVICE_NOTIFY_H

/* Send state ("READY=1", "STOPPING=1", "STATUS=...", several joined by
 * newlines).  Without $NOTIFY_SOCKET (not under systemd) it does
 * nothing and returns 0; -1 with error_set when the socket cannot be
 * reached. */
int service_notify (const char *state);

#endif
