/*
 * compute - CPU-bound functions, for correctness across privilege levels and for benchmarks.
 *
 *   Sha256(bytes data) -> bytes        the 32-byte SHA-256 digest of data (FIPS 180-4)
 *   Sha256Pattern(u32 len) -> bytes    the SHA-256 digest of len bytes generated in the guest's
 *                                      heap, byte i = (i * 31 + 7) mod 256: hashes up to the heap
 *                                      size without shipping the data in (fails, code 3, when the
 *                                      heap is too small)
 *   SumBytes(bytes data) -> u64        the sum of all bytes, each taken as 0-255
 *   Add(i32 a, i32 b) -> i32           a + b, wrapping (a minimal call, for call overhead)
 *   Noop() -> void                     does nothing (the smallest call)
 */
#include <glint.h>

static void sha256(const glint_args *a, glint_result *r) {
  uint32_t len;
  const void *data = glint_arg_bytes(a, 0, &len);
  uint8_t digest[32];
  glint_sha256(data, len, digest);
  glint_result_bytes(r, digest, sizeof digest);
}

static void sha256_pattern(const glint_args *a, glint_result *r) {
  uint32_t len = glint_arg_u32(a, 0);
  uint8_t *data = malloc(len ? len : 1);
  if (!data) {
    glint_result_error(r, GLINT_ERR_FAILED, "Sha256Pattern: %u bytes do not fit the heap", len);
    return;
  }
  for (uint32_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 31 + 7);
  uint8_t digest[32];
  glint_sha256(data, len, digest);
  free(data);
  glint_result_bytes(r, digest, sizeof digest);
}

static void sum_bytes(const glint_args *a, glint_result *r) {
  uint32_t len;
  const uint8_t *p = glint_arg_bytes(a, 0, &len);
  uint64_t sum = 0;
  for (uint32_t i = 0; i < len; i++) sum += p[i];
  glint_result_u64(r, sum);
}

static void add(const glint_args *a, glint_result *r) {
  glint_result_i32(r, (int32_t)((uint32_t)glint_arg_i32(a, 0) + (uint32_t)glint_arg_i32(a, 1)));
}

static void noop(const glint_args *a, glint_result *r) {}

void glint_init(void) {
  static const glint_type bytes[] = {GLINT_BYTES}, u32[] = {GLINT_U32},
                          two_i32[] = {GLINT_I32, GLINT_I32};
  glint_register("Sha256", GLINT_BYTES, 1, bytes, sha256);
  glint_register("Sha256Pattern", GLINT_BYTES, 1, u32, sha256_pattern);
  glint_register("SumBytes", GLINT_U64, 1, bytes, sum_bytes);
  glint_register("Add", GLINT_I32, 2, two_i32, add);
  glint_register("Noop", GLINT_VOID, 0, NULL, noop);
}
