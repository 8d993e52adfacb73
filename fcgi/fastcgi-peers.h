/* SPDX-License-Identifier: Apache-2.0 */
/* The peers a TCP FastCGI socket serves (FCGI_WEB_SERVER_ADDRS, the
 * variable libfcgi reads), and what a peer's address says about it.
 * IPv4 and IPv6; an IPv4 address in IPv6 form (::ffff:a.b.c.d, as a
 * dual-stack socket reports an IPv4 peer) is kept and compared as
 * a.b.c.d, in the list and in a peer alike. */
#ifndef IMAGEXFER_FASTCGI_PEERS_H
#define IMAGEXFER_FASTCGI_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* More addresses than this are refused. */
#define FASTCGI_MAX_WEB_SERVERS 32

struct fastcgi_peer_address {
  int family;                   /* AF_INET or AF_INET6 */
  unsigned char bytes[16];
};

struct fastcgi_peers {
  size_t count;                 /* 0: every peer */
  struct fastcgi_peer_address addresses[FASTCGI_MAX_WEB_SERVERS];
};

/* Parse a list of addresses separated by commas or spaces: dotted quads
 * and IPv6 text only (not inet_addr's "127.1").  Returns 0, or -1 with
 * error_set for anything else, too many, or none at all. */
int fastcgi_peers_parse (struct fastcgi_peers *peers, const char *list);

/* The address of an AF_INET or AF_INET6 peer; false for another family. */
bool fastcgi_peer_address_of (const struct sockaddr_storage *peer,
                              struct fastcgi_peer_address *address);

/* In 127.0.0.0/8 or ::1: this machine. */
bool fastcgi_peer_is_loopback (const struct fastcgi_peer_address *address);

/* Whether peers lists address (an empty list allows every address). */
bool fastcgi_peers_allow (const struct fastcgi_peers *peers,
                          const struct fastcgi_peer_address *address);

#endif
