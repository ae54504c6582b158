/* memcpy, memmove, memset, memcmp, strlen, strcmp against a byte-by-byte reference. */
#include <string.h>

#include "test.h"


void test_libc(void) {
  unsigned char a[300], b[300], ref[300];
  for (size_t off = 0; off < 9; off++) {
    for (size_t n = 0; n < 70; n += 3) {
      for (int i = 0; i < 300; i++) a[i] = (unsigned char)(i * 7 + 1), b[i] = 0xEE;
      memcpy(ref, b, sizeof ref);
      for (size_t i = 0; i < n; i++) ref[off + 5 + i] = a[off + i];
      CHECK(glint_test_memcpy(b + off + 5, a + off, n) == b + off + 5, "memcpy return value");
      CHECK(memcmp(b, ref, sizeof b) == 0, "memcpy off=%zu n=%zu", off, n);
    }
  }
  /* memmove with overlap in both directions, every small shift. */
  for (int shift = -17; shift <= 17; shift++) {
    for (size_t n = 0; n < 60; n += 7) {
      for (int i = 0; i < 300; i++) a[i] = (unsigned char)i, ref[i] = (unsigned char)i;
      memmove(ref + 100 + shift, ref + 100, n);
      glint_test_memmove(a + 100 + shift, a + 100, n);
      CHECK(memcmp(a, ref, sizeof a) == 0, "memmove shift=%d n=%zu", shift, n);
    }
  }
  for (size_t n = 0; n < 40; n++) {
    memset(a, 1, sizeof a);
    memset(ref, 1, sizeof ref);
    memset(ref + 3, 0xAB, n);
    CHECK(glint_test_memset(a + 3, 0x1AB, n) == a + 3, "memset return value");
    CHECK(memcmp(a, ref, sizeof a) == 0, "memset n=%zu (only the low byte of c counts)", n);
  }
  CHECK(glint_test_memcmp("abc", "abd", 3) < 0, "memcmp less");
  CHECK(glint_test_memcmp("abd", "abc", 3) > 0, "memcmp greater");
  CHECK(glint_test_memcmp("ab\xff", "ab\x01", 3) > 0, "memcmp compares unsigned bytes");
  CHECK(glint_test_memcmp("abc", "abd", 2) == 0, "memcmp stops at n");
  CHECK(glint_test_strlen("") == 0, "strlen empty");
  CHECK(glint_test_strlen("hello") == 5, "strlen");
  CHECK(glint_test_strcmp("a", "b") < 0 && glint_test_strcmp("b", "a") > 0, "strcmp order");
  CHECK(glint_test_strcmp("abc", "abc") == 0, "strcmp equal");
  CHECK(glint_test_strcmp("ab", "abc") < 0, "strcmp prefix is smaller");
  CHECK(glint_test_strcmp("\xe9", "a") > 0, "strcmp compares unsigned");
}
