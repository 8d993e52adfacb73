/* SPDX-License-Identifier: Apache-2.0 */
/* FastCGI peers by address; see fastcgi-peers.h. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fastcgi-peers.h"

static const unsigned char v4_mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

static void
address_from_ipv6 (struct fastcgi_peer_address *address,
                   const unsigned char bytes[16])
{
  memset (address, 0, sizeof *address);
  if (memcmp (bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
    address->family = AF_INET;
    memcpy (address->bytes, bytes + 12, 4);
  }
  else {
    address->family = AF_INET6;
    memcpy (address->bytes, bytes, 16);
  }
}

static int
parse_address (const char *text, struct fastcgi_peer_address *address)
{
  unsigned char bytes[16];

  memset (address, 0, sizeof *address);
  if (inet_pton (AF_INET, text, address->bytes) == 1)
    address->family = AF_INET;
  else if (inet_pton (AF_INET6, text, bytes) == 1)
    address_from_ipv6 (address, bytes);
  else
    return -1;
  return 0;
}

int
fastcgi_peers_parse (struct fastcgi_peers *peers, const char *list)
{
  char *copy = strdup (list), *item, *save = NULL;
  int r = 0;

  peers->count = 0;
  if (copy == NULL) {
    error_set (ENOMEM, "FCGI_WEB_SERVER_ADDRS: out of memory");
    return -1;
  }
  for (item = strtok_r (copy, ", ", &save); item != NULL && r == 0;
       item = strtok_r (NULL, ", ", &save)) {
    if (peers->count == FASTCGI_MAX_WEB_SERVERS) {
      error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS: more than %d addresses",
                 FASTCGI_MAX_WEB_SERVERS);
      r = -1;
    }
    else if (parse_address (item, &peers->addresses[peers->count]) == -1) {
      error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS: \"%s\" is not an IPv4 or "
                 "IPv6 address", item);
      r = -1;
    }
    else
      peers->count++;
  }
  free (copy);
  /* Set but naming nobody: allowing everyone would be the surprise. */
  if (r == 0 && peers->count == 0) {
    error_set (EINVAL, "FCGI_WEB_SERVER_ADDRS is set but lists no address");
    r = -1;
  }
  return r;
}

bool
fastcgi_peer_address_of (const struct sockaddr_storage *peer,
                         struct fastcgi_peer_address *address)
{
  memset (address, 0, sizeof *address);
  if (peer->ss_family == AF_INET) {
    address->family = AF_INET;
    memcpy (address->bytes, &((const struct sockaddr_in *) peer)->sin_addr, 4);
    return true;
  }
  if (peer->ss_family == AF_INET6) {
    address_from_ipv6 (address,
                       ((const struct sockaddr_in6 *) peer)->sin6_addr.s6_addr);
    return true;
  }
  return false;
}

bool
fastcgi_peer_is_loopback (const struct fastcgi_peer_address *address)
{
  static const unsigned char ipv6_loopback[16] = { [15] = 1 };

  if (address->family == AF_INET)
    return address->bytes[0] == 127;
  return address->family == AF_INET6
         && memcmp (address->bytes, ipv6_loopback, 16) == 0;
}

bool
fastcgi_peers_allow (const struct fastcgi_peers *peers,
                     const struct fastcgi_peer_address *address)
{
  if (peers->count == 0)
    return true;
  for (size_t i = 0; i < peers->count; i++)
    if (peers->addresses[i].family == address->family
        && memcmp (peers->addresses[i].bytes, address->bytes, 16) == 0)
      return true;
  return false;
}
