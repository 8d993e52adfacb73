/* SPDX-License-Identifier: Apache-2.0 */
/* The ImageIO block hash (src/backend/checksum.c) over real file backends.
 *
 * The reference values are computed here with libsodium directly on the
 * file's bytes, one block at a time, with no zero shortcut; one fixed
 * value comes from coreutils, so the test does not only compare the code
 * with itself:
 *
 *   python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i
 *     in range(2621540)))' > pat.raw
 *   split -b 1048576 --filter='b2sum -l 256 | cut -c1-64 | xxd -r -p' \
 *     pat.raw | b2sum -l 256
 *   split -b 1048576 --filter='sha256sum | cut -c1-64 | xxd -r -p' \
 *     pat.raw | sha256sum
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "backend.h"
#include "backend-file.h"
#include "backend-registry.h"
#include "checksum.h"
#include "error.h"
#include "tap.h"

#define MiB (UINT64_C (1) * 1024 * 1024)

static char tmpdir[] = "/tmp/test-checksum.XXXXXX";

static void
to_hex (const unsigned char *digest, char *hex)
{
  sodium_bin2hex (hex, CHECKSUM_HEX_SIZE, digest, CHECKSUM_DIGEST_SIZE);
}

/* The primitives: libsodium must agree with b2sum -l 256 / sha256sum. */
static void
test_vectors (void)
{
  static const struct {
    const char *input;
    const char *blake2b;
    const char *sha256;
  } vectors[] = {
    { "",
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc",
      "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  };
  size_t i;

  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    unsigned char digest[CHECKSUM_DIGEST_SIZE];
    char hex[CHECKSUM_HEX_SIZE];
    const unsigned char *in = (const unsigned char *) vectors[i].input;
    size_t len = strlen (vectors[i].input);

    crypto_generichash (digest, sizeof digest, in, len, NULL, 0);
    to_hex (digest, hex);
    tap_ok (strcmp (hex, vectors[i].blake2b) == 0,
            "blake2b-256 (\"%s\") = %s", vectors[i].input, hex);
    crypto_hash_sha256 (digest, in, len);
    to_hex (digest, hex);
    tap_ok (strcmp (hex, vectors[i].sha256) == 0,
            "sha256 (\"%s\") = %s", vectors[i].input, hex);
  }
}

static void
test_block_sizes (void)
{
  static const struct {
    uint64_t block_size;
    int valid;
  } cases[] = {
    { 0, 0 },
    { 1, 0 },
    { 4096, 0 },
    { MiB - 4096, 0 },
    { MiB - 1, 0 },
    { MiB, 1 },
    { MiB + 1, 0 },
    { MiB + 512, 0 },
    { MiB + 4096, 1 },
    { 4 * MiB, 1 },
    { 16 * MiB - 4096, 1 },
    { 16 * MiB, 1 },
    { 16 * MiB + 4096, 0 },
    { 17 * MiB, 0 },
    { UINT64_C (1) << 32, 0 },
    { UINT64_MAX, 0 },
    { UINT64_MAX - 4095, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    tap_ok (checksum_block_size_valid (cases[i].block_size) == cases[i].valid,
            "block size %" PRIu64 " is %svalid", cases[i].block_size,
            cases[i].valid ? "" : "in");
}

static void
test_algorithms (void)
{
  static const struct {
    const char *name;
    bool valid;
  } cases[] = {
    { "blake2b", true }, { "sha256", true },
    { "", false }, { "BLAKE2B", false }, { "Sha256", false },
    { "sha1", false }, { "md5", false }, { "blake2s", false },
    { "blake2b ", false }, { " blake2b", false }, { "sha256\n", false },
    { "blake2b\tx", false }, { "sha", false }, { "sha2566", false },
  };
  size_t i, n;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char shown[32];
    size_t j;

    /* Control characters would break the TAP line. */
    for (j = 0; cases[i].name[j] && j < sizeof shown - 1; j++)
      shown[j] = cases[i].name[j] < ' ' ? '?' : cases[i].name[j];
    shown[j] = '\0';
    tap_ok (checksum_algorithm_valid (cases[i].name) == cases[i].valid,
            "algorithm \"%s\" is %svalid", shown,
            cases[i].valid ? "" : "in");
  }
  tap_ok (!checksum_algorithm_valid (NULL), "algorithm NULL is invalid");

  for (n = 0; checksum_algorithms[n] != NULL; n++)
    tap_ok (checksum_algorithm_valid (checksum_algorithms[n]),
            "listed algorithm %s is accepted", checksum_algorithms[n]);
  tap_ok (n == 2 && strcmp (checksum_algorithms[0], "blake2b") == 0
          && strcmp (checksum_algorithms[1], "sha256") == 0,
          "checksum_algorithms is {blake2b, sha256}");
}

/* The reference: read the file block by block and hash naively. */
static void
reference_checksum (const char *path, const char *algorithm,
                    uint64_t block_size, char *hex)
{
  bool blake = strcmp (algorithm, "blake2b") == 0;
  crypto_generichash_state b2;
  crypto_hash_sha256_state sha;
  unsigned char digest[CHECKSUM_DIGEST_SIZE];
  char *buf = malloc (block_size);
  int fd = open (path, O_RDONLY);
  ssize_t n;

  if (buf == NULL || fd == -1) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  crypto_generichash_init (&b2, NULL, 0, sizeof digest);
  crypto_hash_sha256_init (&sha);
  for (;;) {
    size_t got = 0;

    while (got < block_size
           && (n = read (fd, buf + got, block_size - got)) > 0)
      got += n;
    if (got == 0)
      break;
    if (blake) {
      crypto_generichash (digest, sizeof digest, (unsigned char *) buf, got,
                          NULL, 0);
      crypto_generichash_update (&b2, digest, sizeof digest);
    }
    else {
      crypto_hash_sha256 (digest, (unsigned char *) buf, got);
      crypto_hash_sha256_update (&sha, digest, sizeof digest);
    }
  }
  if (blake)
    crypto_generichash_final (&b2, digest, sizeof digest);
  else
    crypto_hash_sha256_final (&sha, digest);
  to_hex (digest, hex);
  close (fd);
  free (buf);
}

/* A piece of a test image: [offset, offset+length) filled with a
 * pattern (fill -1), a byte value, or left a hole (fill -2). */
struct piece {
  uint64_t offset, length;
  int fill;
};

static void
make_image (const char *path, uint64_t size, const struct piece *pieces,
            size_t nr)
{
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  size_t i;

  if (fd == -1 || ftruncate (fd, (off_t) size) == -1) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < nr; i++) {
    uint64_t j;
    char *buf;

    if (pieces[i].fill == -2)
      continue;
    buf = malloc (pieces[i].length);
    for (j = 0; j < pieces[i].length; j++)
      buf[j] = pieces[i].fill == -1
        ? (char) ((pieces[i].offset + j) % 251) : (char) pieces[i].fill;
    if (pwrite (fd, buf, pieces[i].length, (off_t) pieces[i].offset)
        != (ssize_t) pieces[i].length) {
      perror ("pwrite");
      exit (EXIT_FAILURE);
    }
    free (buf);
  }
  close (fd);
}

static void
file_transfer (struct transfer *t, char *path)
{
  memset (t, 0, sizeof *t);
  strcpy (t->id, "checksum-test");
  static struct file_location location;

  location.path = path;
  t->type = backend_type_find ("file");
  t->location = &location;
  t->ops = TRANSFER_OP_READ;
  t->sparse = true;
}

static void
test_images (void)
{
  static const struct {
    const char *name;
    uint64_t size;
    uint64_t block_size;
    struct piece pieces[4];
    size_t nr;
  } images[] = {
    { "empty", 0, MiB, { { 0 } }, 0 },
    { "one byte", 1, MiB, { { 0, 1, 'x' } }, 1 },
    { "4095 bytes", 4095, MiB, { { 0, 4095, -1 } }, 1 },
    { "one full block", MiB, MiB, { { 0, MiB, -1 } }, 1 },
    { "block plus one", MiB + 1, MiB, { { 0, MiB + 1, -1 } }, 1 },
    { "all hole, short tail", 5 * MiB + 12345, MiB, { { 0 } }, 0 },
    { "allocated zeroes", 3 * MiB, MiB, { { 0, 3 * MiB, 0 } }, 1 },
    { "data in a hole", 7 * MiB + 100, 2 * MiB,
      { { 3 * MiB + 10, 5000, -1 }, { 7 * MiB, 100, 0x55 } }, 2 },
    { "data straddling blocks", 9 * MiB, MiB + 4096,
      { { MiB, 10, 1 }, { 4 * MiB - 7, 14, -1 } }, 2 },
    { "last block zero tail", 4 * MiB + 4096, 4 * MiB,
      { { 0, 4096, -1 } }, 1 },
    { "pattern 2.5 MiB", 2621540, MiB, { { 0, 2621540, -1 } }, 1 },
  };
  static const char *const algorithms[] = { "blake2b", "sha256" };
  char path[sizeof tmpdir + 16];
  size_t i, a;

  snprintf (path, sizeof path, "%s/image", tmpdir);
  for (i = 0; i < sizeof images / sizeof images[0]; i++) {
    make_image (path, images[i].size, images[i].pieces, images[i].nr);
    for (a = 0; a < 2; a++) {
      struct transfer t;
      struct backend *b;
      char got[CHECKSUM_HEX_SIZE], want[CHECKSUM_HEX_SIZE];
      int r;

      file_transfer (&t, path);
      b = backend_open (&t, false);
      if (b == NULL) {
        tap_ok (false, "%s: open: %s", images[i].name, error_message ());
        continue;
      }
      r = checksum_compute (b, algorithms[a], images[i].block_size, got,
                            NULL, NULL);
      reference_checksum (path, algorithms[a], images[i].block_size, want);
      tap_ok (r == 0 && strcmp (got, want) == 0,
              "%s (%" PRIu64 " bytes, block %" PRIu64 ") %s: %s (want %s)",
              images[i].name, images[i].size, images[i].block_size,
              algorithms[a], r == 0 ? got : error_message (), want);
      backend_close (b);
    }
  }
}

/* The value coreutils gives for pat.raw (see the top of this file). */
static void
test_coreutils_value (void)
{
  static const struct piece pattern = { 0, 2621540, -1 };
  static const struct {
    const char *algorithm;
    const char *want;
  } cases[] = {
    { "blake2b",
      "2e40558916266f7fccb7edf1a693b2ae483d7de7b64606dbcca99c9bae2abd82" },
    { "sha256",
      "4e8316680799a5ad54ce110ed2759d49ce0b2f2f3f8df1d77acce349912c7e66" },
  };
  char path[sizeof tmpdir + 16];
  size_t i;

  snprintf (path, sizeof path, "%s/pat.raw", tmpdir);
  make_image (path, pattern.length, &pattern, 1);
  for (i = 0; i < 2; i++) {
    struct transfer t;
    struct backend *b;
    char got[CHECKSUM_HEX_SIZE] = "";

    file_transfer (&t, path);
    b = backend_open (&t, false);
    tap_ok (b != NULL
            && checksum_compute (b, cases[i].algorithm, MiB, got,
                                 NULL, NULL) == 0
            && strcmp (got, cases[i].want) == 0,
            "pat.raw %s matches coreutils: %s", cases[i].algorithm, got);
    backend_close (b);
  }
  unlink (path);
}

static int cancel_after;

static bool
cancel_countdown (void *opaque)
{
  int *calls = opaque;

  return ++*calls > cancel_after;
}

static void
test_errors (void)
{
  static const struct {
    const char *algorithm;
    uint64_t block_size;
  } bad[] = {
    { "md5", MiB }, { "", MiB }, { "BLAKE2B", MiB }, { NULL, MiB },
    { "blake2b", 0 }, { "blake2b", 4096 }, { "sha256", MiB + 1 },
    { "sha256", 32 * MiB }, { "blake2b", UINT64_MAX },
  };
  static const struct piece data = { 0, 6 * MiB, -1 };
  char path[sizeof tmpdir + 16];
  struct transfer t;
  struct backend *b;
  char hex[CHECKSUM_HEX_SIZE];
  size_t i;
  int calls, r;

  snprintf (path, sizeof path, "%s/image", tmpdir);
  make_image (path, data.length, &data, 1);
  file_transfer (&t, path);
  b = backend_open (&t, false);
  if (b == NULL) {
    tap_ok (false, "open for errors: %s", error_message ());
    return;
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    r = checksum_compute (b, bad[i].algorithm, bad[i].block_size, hex,
                          NULL, NULL);
    tap_ok (r == -1 && errno == EINVAL && error_errno () == EINVAL,
            "algorithm %s block size %" PRIu64 " is EINVAL: %s",
            bad[i].algorithm ? bad[i].algorithm : "(null)",
            bad[i].block_size, error_message ());
  }

  /* Cancelled after two blocks of six. */
  calls = 0;
  cancel_after = 2;
  r = checksum_compute (b, "blake2b", MiB, hex,
                                    cancel_countdown, &calls);
  tap_ok (r == -1 && errno == ECANCELED && calls == 3,
          "cancel stops the checksum (calls %d): %s", calls,
          error_message ());
  calls = 0;
  cancel_after = 1000;
  r = checksum_compute (b, "blake2b", MiB, hex,
                                    cancel_countdown, &calls);
  tap_ok (r == 0 && calls == 6, "not cancelled: asked once per data block "
          "(%d)", calls);
  backend_close (b);
  unlink (path);
}

int
main (void)
{
  char path[sizeof tmpdir + 16];

  if (sodium_init () == -1 || mkdtemp (tmpdir) == NULL) {
    perror ("setup");
    return EXIT_FAILURE;
  }
  test_vectors ();
  test_block_sizes ();
  test_algorithms ();
  test_images ();
  test_coreutils_value ();
  test_errors ();

  snprintf (path, sizeof path, "%s/image", tmpdir);
  unlink (path);
  rmdir (tmpdir);
  return tap_done ();
}
