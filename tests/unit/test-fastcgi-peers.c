/* SPDX-License-Identifier: Apache-2.0 */
/* The peers a TCP FastCGI socket serves (fcgi/fastcgi-peers.c):
 * FCGI_WEB_SERVER_ADDRS parsed strictly, IPv4 and IPv6 peers matched,
 * an IPv4 address in IPv6 form taken for the IPv4 one on either side,
 * and this machine's addresses told from others. */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "error.h"
#include "fastcgi-peers.h"
#include "tap.h"

static const struct {
  const char *list;
  int count;                    /* -1: refused */
} parse_tests[] = {
  { "127.0.0.1", 1 },
  { "192.0.2.1,127.0.0.1", 2 },
  { "192.0.2.1, 127.0.0.1 ::1", 3 },
  { "2001:db8::1", 1 },
  { "::ffff:10.0.0.1", 1 },
  { "", -1 },
  { " , ", -1 },
  { "127.1", -1 },
  { "localhost", -1 },
  { "10.0.0.256", -1 },
  { "127.0.0.1/8", -1 },
};

/* A peer as accept reports it, from its text form. */
static struct sockaddr_storage
peer (int family, const char *text)
{
  struct sockaddr_storage s;

  memset (&s, 0, sizeof s);
  s.ss_family = family;
  if (family == AF_INET)
    inet_pton (AF_INET, text, &((struct sockaddr_in *) &s)->sin_addr);
  else
    inet_pton (AF_INET6, text, &((struct sockaddr_in6 *) &s)->sin6_addr);
  return s;
}

static const struct {
  const char *list;
  int family;
  const char *peer;
  bool allowed;
  bool loopback;
} match_tests[] = {
  { "127.0.0.1", AF_INET, "127.0.0.1", true, true },
  { "127.0.0.1", AF_INET, "127.0.0.2", false, true },
  { "192.0.2.1", AF_INET6, "::ffff:192.0.2.1", true, false },
  { "::ffff:192.0.2.1", AF_INET, "192.0.2.1", true, false },
  { "192.0.2.1", AF_INET, "192.0.2.10", false, false },
  { "2001:db8::1", AF_INET6, "2001:db8::1", true, false },
  { "2001:db8::1", AF_INET6, "2001:db8::2", false, false },
  { "192.0.2.1", AF_INET6, "::1", false, true },
  { "::1", AF_INET6, "::1", true, true },
  { "192.0.2.1", AF_INET6, "::ffff:127.0.0.1", false, true },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof parse_tests / sizeof parse_tests[0]; i++) {
    struct fastcgi_peers peers;
    int r = fastcgi_peers_parse (&peers, parse_tests[i].list);

    if (parse_tests[i].count < 0)
      tap_ok (r == -1 && strstr (error_message (), "FCGI_WEB_SERVER_ADDRS"),
              "\"%s\" refused: %s", parse_tests[i].list, error_message ());
    else
      tap_ok (r == 0 && peers.count == (size_t) parse_tests[i].count,
              "\"%s\": %d address%s", parse_tests[i].list,
              parse_tests[i].count, parse_tests[i].count == 1 ? "" : "es");
  }
  for (size_t i = 0; i < sizeof match_tests / sizeof match_tests[0]; i++) {
    struct fastcgi_peers peers;
    struct fastcgi_peer_address address;
    struct sockaddr_storage s = peer (match_tests[i].family,
                                      match_tests[i].peer);

    tap_ok (fastcgi_peers_parse (&peers, match_tests[i].list) == 0
            && fastcgi_peer_address_of (&s, &address)
            && fastcgi_peers_allow (&peers, &address) == match_tests[i].allowed
            && fastcgi_peer_is_loopback (&address) == match_tests[i].loopback,
            "list \"%s\", peer %s: %s, %s", match_tests[i].list,
            match_tests[i].peer,
            match_tests[i].allowed ? "served" : "refused",
            match_tests[i].loopback ? "this machine" : "another host");
  }
  {
    struct fastcgi_peers none = { .count = 0 };
    struct fastcgi_peer_address address;
    struct sockaddr_storage s = peer (AF_INET, "198.51.100.7");
    struct sockaddr_storage unix_peer = { .ss_family = AF_UNIX };

    tap_ok (fastcgi_peer_address_of (&s, &address)
            && fastcgi_peers_allow (&none, &address),
            "no list: every peer is served");
    tap_ok (!fastcgi_peer_address_of (&unix_peer, &address),
            "a unix peer has no address");
  }
  return tap_done ();
}
