/*
 * The C floor for the sandbox's SHA-256 benchmark: the guest SDK's own SHA-256 (sdk/src/sha256.c
 * and the memcpy of sdk/src/libc.c, copied into the benchmark resources by the Maven build, not by
 * hand) compiled for the host, hashing the same bytes the Java side sends to the compute guest.
 *
 *   sha256_floor BYTES N   N digests of BYTES bytes (byte i = (i * 31 + 7) mod 256), each timed
 *
 * Prints "sha256 n=<N> median_ns=<v> p10_ns=<v> p90_ns=<v> digest=<first 8 bytes hex>".
 * Compiled by dev.glint.benchmarks.CFloor twice: with the guest's code-generation flags and with
 * plain -O2. Written for this project.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sha256_floor BYTES COUNT\n");
    return 1;
  }
  size_t bytes = strtoul(argv[1], NULL, 10), n = strtoul(argv[2], NULL, 10);
  if (n < 1) n = 1;
  uint8_t *data = malloc(bytes ? bytes : 1);
  uint64_t *samples = malloc(n * sizeof *samples);
  if (!data || !samples) return 2;
  for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)(i * 31 + 7);
  uint8_t digest[32];
  /* A tenth more runs first warm the caches and the branch predictors, as the Java side does. */
  for (size_t i = 0; i < n + n / 10 + 1; i++) {
    uint64_t start = now_ns();
    glint_sha256(data, bytes, digest);
    uint64_t end = now_ns();
    if (i >= n / 10 + 1) samples[i - n / 10 - 1] = end - start;
  }
  qsort(samples, n, sizeof *samples, compare_u64);
  printf("sha256 n=%zu median_ns=%llu p10_ns=%llu p90_ns=%llu digest=", n,
         (unsigned long long)samples[n / 2], (unsigned long long)samples[n / 10],
         (unsigned long long)samples[n * 9 / 10]);
  for (int i = 0; i < 8; i++) printf("%02x", digest[i]);
  printf("\n");
  return 0;
}
