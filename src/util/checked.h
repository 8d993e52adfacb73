/* SPDX-License-Identifier: Apache-2.0 */
/* Overflow-checked arithmetic for offsets and lengths. */
#ifndef IMAGEXFER_CHECKED_H
#define IMAGEXFER_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* True when offset + length fits in uint64_t and stays within limit. */
static inline bool
range_within (uint64_t offset, uint64_t length, uint64_t limit)
{
  uint64_t end;

  if (__builtin_add_overflow (offset, length, &end))
    return false;
  return end <= limit;
}

#endif
