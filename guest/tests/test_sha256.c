/*
 * SHA-256 against the FIPS 180-4 example vectors, against sha256sum for 1 MiB of the pattern the
 * compute guest's Sha256Pattern uses, and incremental updates against one-shot hashing.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void hex(const uint8_t d[32], char out[65]) {
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_digest(const void *data, size_t len, const char *want, const char *what) {
  uint8_t d[32];
  char got[65];
  glint_sha256(data, len, d);
  hex(d, got);
  CHECK(strcmp(got, want) == 0, "%s: got %s, want %s", what, got, want);
}

void test_sha256(void) {
  expect_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
  expect_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
  expect_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                "two-block message (56 bytes)");

  /* 1 MiB of the Sha256Pattern bytes, checked against the system's sha256sum. */
  size_t n = 1 << 20;
  uint8_t *data = malloc(n);
  for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 31 + 7);
  FILE *f = fopen("pattern-1mib.bin", "wb");
  CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "wrote the pattern file");
  char want[80] = {0};
  FILE *p = popen("sha256sum pattern-1mib.bin", "r");
  CHECK(p && fscanf(p, "%64s", want) == 1 && pclose(p) == 0, "ran sha256sum");
  CHECK(strlen(want) == 64, "sha256sum printed a digest: '%s'", want);
  expect_digest(data, n, want, "1 MiB pattern vs sha256sum");

  /* Incremental: every split point around block boundaries gives the one-shot digest. */
  uint8_t one[32], inc[32];
  glint_sha256(data, 200, one);
  int mismatches = 0;
  for (size_t split = 0; split <= 200; split++) {
    glint_sha256_ctx ctx;
    glint_sha256_init(&ctx);
    glint_sha256_update(&ctx, data, split);
    glint_sha256_update(&ctx, data + split, 200 - split);
    glint_sha256_final(&ctx, inc);
    mismatches += memcmp(one, inc, 32) != 0;
  }
  CHECK(mismatches == 0, "incremental digests differ at %d split points", mismatches);
  /* Lengths around the padding boundary (55, 56, 63, 64 bytes) against sha256sum-free vectors:
   * compare with the incremental path byte by byte instead. */
  for (size_t len = 50; len < 70; len++) {
    glint_sha256_ctx ctx;
    glint_sha256_init(&ctx);
    for (size_t i = 0; i < len; i++) glint_sha256_update(&ctx, data + i, 1);
    glint_sha256_final(&ctx, inc);
    glint_sha256(data, len, one);
    CHECK(memcmp(one, inc, 32) == 0, "byte-at-a-time digest of %zu bytes", len);
  }
  free(data);
  remove("pattern-1mib.bin");
}
