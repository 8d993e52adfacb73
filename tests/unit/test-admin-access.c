/* SPDX-License-Identifier: Apache-2.0 */
/* The Host and Origin authorities the administrator's routes accept over
 * TCP (fcgi/admin-access.c): loopback names only, with an optional port,
 * nothing that merely starts like one (DNS rebinding). */
#include <config.h>

#include "admin-access.h"
#include "tap.h"

static const struct {
  const char *authority;
  bool local;
} authority_tests[] = {
  { "localhost", true },
  { "LOCALHOST", true },
  { "localhost:54323", true },
  { "127.0.0.1", true },
  { "127.0.0.1:1", true },
  { "127.0.0.1:65535", true },
  { "[::1]", true },
  { "[::1]:8080", true },
  { "", false },
  { "localhost:", false },
  { "localhost:80x", false },
  { "localhost:123456", false },
  { "localhost.evil.example", false },
  { "localhost.", false },
  { "127.0.0.1.evil.example", false },
  { "127.0.0.1.nip.io:80", false },
  { "127.0.0.2", false },
  { "127.1", false },
  { "::1", false },
  { "[::1].evil.example", false },
  { "evil.example", false },
  { "localhost@evil.example", false },
  { "xlocalhost", false },
};

int
main (void)
{
  for (size_t i = 0; i < sizeof authority_tests / sizeof authority_tests[0];
       i++)
    tap_ok (admin_authority_is_local (authority_tests[i].authority)
              == authority_tests[i].local,
            "admin_authority_is_local (\"%s\") is %s",
            authority_tests[i].authority,
            authority_tests[i].local ? "true" : "false");
  return tap_done ();
}
