/* SPDX-License-Identifier: Apache-2.0 */
/* The ImageIO block hash; see checksum.h for the definition.
 *
 * The image is walked in windows of CHECKSUM_WINDOW_BLOCKS blocks: the
 * zero extents of a window are asked once, then each block is either
 * known zero (its digest is precomputed, nothing is read) or read into
 * the one block buffer and hashed.  A block read as all zeroes gets the
 * same precomputed digest (the result is the same; memcmp is faster than
 * hashing).
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checksum.h"
#include "error.h"

/* Blocks per extents query: 256 blocks of 4 MiB is 1 GiB per query, and
 * even a fully fragmented window (4 KiB extents) keeps the extent list
 * to a few MiB. */
#define CHECKSUM_WINDOW_BLOCKS 256

/* A long run of zero blocks costs nothing to hash: ask about
 * cancellation every so many of them, and after every block read. */
#define CHECKSUM_CANCEL_EVERY 1024

const char *const checksum_algorithms[] = {
  "blake2b",
  "sha256",
  NULL,
};

enum checksum_algorithm {
  CHECKSUM_BLAKE2B,
  CHECKSUM_SHA256,
};

struct hash {
  enum checksum_algorithm algorithm;
  union {
    crypto_generichash_state blake2b;
    crypto_hash_sha256_state sha256;
  } u;
};

static int
algorithm_lookup (const char *name, enum checksum_algorithm *algorithm)
{
  if (strcmp (name, "blake2b") == 0)
    *algorithm = CHECKSUM_BLAKE2B;
  else if (strcmp (name, "sha256") == 0)
    *algorithm = CHECKSUM_SHA256;
  else
    return -1;
  return 0;
}

bool
checksum_algorithm_valid (const char *algorithm)
{
  enum checksum_algorithm unused;

  return algorithm != NULL && algorithm_lookup (algorithm, &unused) == 0;
}

int
checksum_block_size_valid (uint64_t block_size)
{
  return block_size >= CHECKSUM_MIN_BLOCK_SIZE
    && block_size <= CHECKSUM_MAX_BLOCK_SIZE
    && block_size % CHECKSUM_BLOCK_ALIGNMENT == 0;
}

static void
hash_init (struct hash *h, enum checksum_algorithm algorithm)
{
  h->algorithm = algorithm;
  switch (algorithm) {
  case CHECKSUM_BLAKE2B:
    crypto_generichash_init (&h->u.blake2b, NULL, 0, CHECKSUM_DIGEST_SIZE);
    break;
  case CHECKSUM_SHA256:
    crypto_hash_sha256_init (&h->u.sha256);
    break;
  }
}

static void
hash_update (struct hash *h, const void *data, size_t len)
{
  switch (h->algorithm) {
  case CHECKSUM_BLAKE2B:
    crypto_generichash_update (&h->u.blake2b, data, len);
    break;
  case CHECKSUM_SHA256:
    crypto_hash_sha256_update (&h->u.sha256, data, len);
    break;
  }
}

static void
hash_final (struct hash *h, unsigned char digest[CHECKSUM_DIGEST_SIZE])
{
  switch (h->algorithm) {
  case CHECKSUM_BLAKE2B:
    crypto_generichash_final (&h->u.blake2b, digest, CHECKSUM_DIGEST_SIZE);
    break;
  case CHECKSUM_SHA256:
    crypto_hash_sha256_final (&h->u.sha256, digest);
    break;
  }
}

static void
hash_digest (enum checksum_algorithm algorithm, const void *data, size_t len,
             unsigned char digest[CHECKSUM_DIGEST_SIZE])
{
  struct hash h;

  hash_init (&h, algorithm);
  hash_update (&h, data, len);
  hash_final (&h, digest);
}

static bool
is_zero (const char *buf, size_t len)
{
  return len == 0 || (buf[0] == 0 && memcmp (buf, buf + 1, len - 1) == 0);
}

/* True when [start, start+len) lies in EXTENT_ZERO extents of list.
 * *index remembers where the previous block was found: blocks come in
 * ascending order. */
static bool
range_is_zero (const struct extent_list *list, size_t *index,
               uint64_t start, uint64_t len)
{
  uint64_t end = start + len;
  size_t i;

  while (*index < list->count
         && list->items[*index].start + list->items[*index].length <= start)
    (*index)++;
  for (i = *index; i < list->count && list->items[i].start < end; i++) {
    if (!(list->items[i].flags & EXTENT_ZERO))
      return false;
  }
  /* The list covers the whole window (backend_extents), so reaching
   * here means every extent under the block was zero. */
  return i > *index;
}

struct checksum_walk {
  struct backend *b;
  enum checksum_algorithm algorithm;
  uint64_t block_size;
  char *buffer;                 /* block_size bytes */
  unsigned char zero_digest[CHECKSUM_DIGEST_SIZE];
  struct hash outer;
  bool (*cancelled) (void *opaque);
  void *opaque;
  uint64_t blocks_since_check;
};

static int
checksum_check_cancelled (struct checksum_walk *w, bool force)
{
  if (w->cancelled == NULL)
    return 0;
  if (!force && ++w->blocks_since_check < CHECKSUM_CANCEL_EVERY)
    return 0;
  w->blocks_since_check = 0;
  if (w->cancelled (w->opaque)) {
    error_set (ECANCELED, "checksum: transfer %s was cancelled",
               w->b->transfer->id);
    return -1;
  }
  return 0;
}

/* One block: its digest goes into the outer hash. */
static int
checksum_block (struct checksum_walk *w, uint64_t offset, uint64_t len,
                bool known_zero)
{
  unsigned char digest[CHECKSUM_DIGEST_SIZE];

  if (!known_zero) {
    if (backend_pread (w->b, w->buffer, len, offset) == -1)
      return -1;
    known_zero = is_zero (w->buffer, len);
    if (!known_zero)
      hash_digest (w->algorithm, w->buffer, len, digest);
  }
  if (known_zero) {
    if (len == w->block_size)
      memcpy (digest, w->zero_digest, sizeof digest);
    else {
      /* The short last block: its own zero digest, once. */
      memset (w->buffer, 0, len);
      hash_digest (w->algorithm, w->buffer, len, digest);
    }
  }
  hash_update (&w->outer, digest, sizeof digest);
  return 0;
}

static int
checksum_walk (struct checksum_walk *w)
{
  struct extent_list extents;
  uint64_t size = w->b->size, window = w->block_size * CHECKSUM_WINDOW_BLOCKS;
  uint64_t pos = 0;
  int ret = -1;

  extent_list_init (&extents);
  while (pos < size) {
    uint64_t window_end = size - pos < window ? size : pos + window;
    uint64_t offset;
    size_t index = 0;

    extent_list_clear (&extents);
    if (backend_extents (w->b, EXTENTS_CONTEXT_ZERO, window_end - pos, pos,
                         &extents) == -1)
      goto out;
    /* backend_extents describes the whole window or fails; blocks are
     * judged zero by it (range_is_zero), so a gap would be misread. */
    assert (extents.count > 0 && extents.items[0].start == pos
            && extent_list_end (&extents) == window_end);
    for (offset = pos; offset < window_end; offset += w->block_size) {
      uint64_t len = window_end - offset < w->block_size
        ? window_end - offset : w->block_size;
      bool zero = range_is_zero (&extents, &index, offset, len);

      if (checksum_block (w, offset, len, zero) == -1
          || checksum_check_cancelled (w, !zero) == -1)
        goto out;
    }
    pos = window_end;
  }
  ret = 0;
 out:
  extent_list_free (&extents);
  return ret;
}

int
checksum_compute (struct backend *b, const char *algorithm,
                              uint64_t block_size, char *hex_out,
                              bool (*cancelled) (void *opaque), void *opaque)
{
  struct checksum_walk w = {
    .b = b, .block_size = block_size, .cancelled = cancelled,
    .opaque = opaque,
  };
  unsigned char digest[CHECKSUM_DIGEST_SIZE];

  if (algorithm == NULL || algorithm_lookup (algorithm, &w.algorithm) == -1) {
    error_set (EINVAL, "checksum: unknown algorithm \"%s\"",
               algorithm ? algorithm : "");
    return -1;
  }
  if (!checksum_block_size_valid (block_size)) {
    error_set (EINVAL, "checksum: invalid block size %" PRIu64 " (%" PRIu64
               "-%" PRIu64 ", a multiple of %d)", block_size,
               CHECKSUM_MIN_BLOCK_SIZE, CHECKSUM_MAX_BLOCK_SIZE,
               CHECKSUM_BLOCK_ALIGNMENT);
    return -1;
  }
  if (b->ops->checksum != NULL) {
    int r = b->ops->checksum (b, algorithm, block_size, hex_out);

    if (r != 0)
      return r;
  }
  if (sodium_init () == -1) {
    error_set (EIO, "checksum: libsodium cannot be initialized");
    return -1;
  }

  /* calloc: the buffer starts as a zero block for the zero digest. */
  w.buffer = calloc (1, block_size);
  if (w.buffer == NULL) {
    error_set (ENOMEM, "checksum: cannot allocate a block of %" PRIu64
               " bytes", block_size);
    return -1;
  }
  hash_digest (w.algorithm, w.buffer, block_size, w.zero_digest);
  hash_init (&w.outer, w.algorithm);

  if (checksum_walk (&w) == -1) {
    free (w.buffer);
    return -1;
  }
  free (w.buffer);
  hash_final (&w.outer, digest);
  sodium_bin2hex (hex_out, CHECKSUM_HEX_SIZE, digest, sizeof digest);
  return 0;
}
