/* SPDX-License-Identifier: Apache-2.0 */
/* The ImageIO block hash (API.md: GET /images/<id>/checksum).
 *
 * The transfer is split into block_size blocks (the last one may be
 * shorter: only its own bytes are hashed), each block is hashed, and the
 * concatenation of the block digests is hashed again:
 *
 *   H (H (block 1) || H (block 2) || ... || H (block N))
 *
 * "blake2b" is BLAKE2b with a 32-byte digest and no key at both levels
 * (`b2sum -l 256`, Python's hashlib.blake2b (digest_size=32)); "sha256"
 * is SHA-256 at both levels.  Blocks the backend reports as zero are
 * hashed from a precomputed digest without being read.
 *
 * To check with coreutils (what the bats suite does):
 *   split -b BLOCK_SIZE --filter='b2sum -l 256 | cut -c1-64 | xxd -r -p' \
 *     image.raw | b2sum -l 256
 * (sha256sum at both places for sha256; basenc --base16 -d after
 * tr a-f A-F does what xxd -r -p does).
 */
#ifndef IMAGEXFER_CHECKSUM_H
#define IMAGEXFER_CHECKSUM_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

#define CHECKSUM_DEFAULT_ALGORITHM "blake2b"
#define CHECKSUM_DEFAULT_BLOCK_SIZE (UINT64_C (4) * 1024 * 1024)

/* Block sizes as ImageIO accepts them: 1 MiB to 16 MiB inclusive, a
 * multiple of 4096 (MIN = default / 4, MAX = default * 4 there).  A
 * bound keeps a client from making a worker allocate a huge block. */
#define CHECKSUM_MIN_BLOCK_SIZE (UINT64_C (1) * 1024 * 1024)
#define CHECKSUM_MAX_BLOCK_SIZE (UINT64_C (16) * 1024 * 1024)
#define CHECKSUM_BLOCK_ALIGNMENT 4096

/* Both algorithms give 32-byte digests: 64 hex digits and a NUL. */
#define CHECKSUM_DIGEST_SIZE 32
#define CHECKSUM_HEX_SIZE (2 * CHECKSUM_DIGEST_SIZE + 1)

/* The algorithm names, sorted, NULL-terminated. */
extern const char *const checksum_algorithms[];

bool checksum_algorithm_valid (const char *algorithm);
int checksum_block_size_valid (uint64_t block_size);

/* Compute the block hash of [0, b->size) into hex_out (lower case,
 * CHECKSUM_HEX_SIZE bytes).  Memory: one block buffer.  cancelled
 * (opaque), when not NULL, is asked between blocks; when it returns true
 * the computation stops with ECANCELED.  Returns 0, or -1 with
 * error_set: EINVAL for an unknown algorithm or a bad block size,
 * whatever the backend failed with otherwise. */
int checksum_compute (struct backend *b, const char *algorithm,
                      uint64_t block_size, char *hex_out,
                      bool (*cancelled) (void *opaque), void *opaque);

#endif
