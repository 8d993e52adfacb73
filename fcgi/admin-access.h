/* SPDX-License-Identifier: Apache-2.0 */
/* Who may use the administrator's routes (/api, /tickets; API.md 3, 4).
 *
 * The shipped web server configurations serve them on a unix socket
 * whose directory's permissions say who may connect (root and the admin
 * group), and mark the requests that came through it with the FastCGI
 * parameter IMAGEXFER_LISTENER=admin.  A client cannot forge that mark:
 * lighttpd, nginx and Apache pass request headers only as HTTP_*
 * parameters.  Whoever connects to imagexfer's FastCGI socket can: the
 * mark counts only on a unix FastCGI socket, whose permissions name the
 * web server's group, never on a TCP one, which every local account can
 * reach.  Any other request came over TCP and is refused unless the
 * operator set admin_tcp = loopback, and then admitted only from a
 * loopback peer, with a local Host and no foreign Origin (DNS rebinding,
 * web pages), and on a TCP FastCGI socket only from a web server on
 * this machine (another host could claim a loopback client).
 */
#ifndef IMAGEXFER_ADMIN_ACCESS_H
#define IMAGEXFER_ADMIN_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "config-file.h"
#include "request.h"

/* The FastCGI parameter the admin socket's configuration sets, and its
 * value. */
#define ADMIN_LISTENER_PARAM "IMAGEXFER_LISTENER"
#define ADMIN_LISTENER_VALUE "admin"

/* Whether req may use an administrator's route.  When not, why is in
 * reason (for the 403 answer). */
bool admin_access_allowed (struct request *req, const struct config *cfg,
                           char *reason, size_t reason_size);

/* A Host or Origin authority naming this machine's loopback:
 * "localhost", "127.0.0.1" or "[::1]", with an optional ":port". */
bool admin_authority_is_local (const char *authority);

#endif
