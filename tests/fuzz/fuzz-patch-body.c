/* SPDX-License-Identifier: Apache-2.0 */
/* JSON bodies of PATCH /images/<id> (fcgi/images/images-patch-body.c):
 * patch_body_parse on any bytes, as the handler calls it on the body it
 * read.  A refused body always has a reason for the client. */
#include <config.h>

#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "images-patch-body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct patch_body body;

  if (size > PATCH_BODY_MAX)
    return 0;
  if (patch_body_parse ((const char *) data, size, &body) == -1) {
    FUZZ_ASSERT (error_message () != NULL && error_message ()[0] != '\0');
    return 0;
  }
  FUZZ_ASSERT (body.op == PATCH_OP_ZERO || body.op == PATCH_OP_FLUSH);
  FUZZ_ASSERT (body.size <= INT64_MAX && body.offset <= INT64_MAX);
  return 0;
}
