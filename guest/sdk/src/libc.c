/*
 * libc.c - the few C library functions a freestanding guest needs.
 *
 * Simple byte loops with 8-byte steps where it is cheap to be faster: the SDK is built with
 * general-purpose registers only (no SSE, see the Makefile), and gcc must not turn these loops back
 * into calls to themselves, hence -fno-tree-loop-distribute-patterns for this file.
 */
#include "internal.h"

void *GLINT_LIBC(memcpy)(void *dst, const void *src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n >= 8) {
    uint64_t v;
    __builtin_memcpy(&v, s, 8); /* an unaligned 8-byte load, inlined by gcc */
    __builtin_memcpy(d, &v, 8);
    d += 8;
    s += 8;
    n -= 8;
  }
  while (n--) *d++ = *s++;
  return dst;
}

void *GLINT_LIBC(memmove)(void *dst, const void *src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  if (d == s || n == 0) return dst;
  /* Copying forwards is safe unless the destination starts inside the source. */
  if (d < s || d >= s + n) return GLINT_LIBC(memcpy)(dst, src, n);
  d += n;
  s += n;
  while (n >= 8) {
    uint64_t v;
    d -= 8;
    s -= 8;
    n -= 8;
    __builtin_memcpy(&v, s, 8);
    __builtin_memcpy(d, &v, 8);
  }
  while (n--) *--d = *--s;
  return dst;
}

void *GLINT_LIBC(memset)(void *dst, int c, size_t n) {
  uint8_t *d = dst;
  uint64_t v = 0x0101010101010101ull * (uint8_t)c;
  while (n >= 8) {
    __builtin_memcpy(d, &v, 8);
    d += 8;
    n -= 8;
  }
  while (n--) *d++ = (uint8_t)c;
  return dst;
}

int GLINT_LIBC(memcmp)(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t GLINT_LIBC(strlen)(const char *s) {
  const char *p = s;
  while (*p) p++;
  return (size_t)(p - s);
}

int GLINT_LIBC(strcmp)(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  while (*x && *x == *y) {
    x++;
    y++;
  }
  return (*x > *y) - (*x < *y);
}
