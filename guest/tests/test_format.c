/* Some cases pass malformed formats on purpose: the formatter must copy them, not crash. */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-overflow"
/* glint_snprintf against expected strings, and its truncation and return-value contract. */
#include <string.h>

#include "test.h"

#define EXPECT(want, ...)                                                        \
  do {                                                                          \
    char out_[256];                                                             \
    int n_ = glint_snprintf(out_, sizeof out_, __VA_ARGS__);                    \
    CHECK(strcmp(out_, want) == 0 && n_ == (int)strlen(want),                   \
          "format %s: got \"%s\" (%d), want \"%s\"", #__VA_ARGS__, out_, n_, want); \
  } while (0)

void test_format(void) {
  EXPECT("plain", "plain");
  EXPECT("42 -42 0", "%d %d %d", 42, -42, 0);
  EXPECT("-2147483648", "%d", (int)0x80000000);
  EXPECT("4294967295", "%u", 0xFFFFFFFFu);
  EXPECT("-9223372036854775808", "%ld", (long)INT64_MIN);
  EXPECT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
  EXPECT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
  EXPECT("ff FF 0xff 777 0", "%x %X %#x %o %x", 255, 255, 255, 0777, 0);
  EXPECT("deadbeefcafe", "%lx", 0xdeadbeefcafeUL);
  EXPECT("[   42] [42   ] [00042] [-0042]", "[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
  EXPECT("[+7] [ 7] [-7]", "[%+d] [% d] [%+d]", 7, 7, -7);
  EXPECT("[00ab]", "[%04x]", 0xab);
  EXPECT("[  007]", "[%5.3d]", 7);
  EXPECT("[]", "[%.0d]", 0);
  EXPECT("[   hi] [hi   ] [h]", "[%5s] [%-5s] [%.1s]", "hi", "hi", "hi");
  EXPECT("abc", "%.*s", 3, "abcdef");
  EXPECT("[  x]", "[%*s]", 3, "x");
  EXPECT("(null)", "%s", (char *)NULL);
  EXPECT("x%y", "x%%y");
  EXPECT("c=A", "c=%c", 'A');
  EXPECT("0x1000", "%p", (void *)0x1000);
  EXPECT("0x0", "%p", (void *)0);
  EXPECT("-5 250 -3", "%hhd %hhu %hd", (signed char)-5, (unsigned char)250, (short)-3);
  EXPECT("12345 12345", "%zu %zd", (size_t)12345, (ptrdiff_t)12345);
  EXPECT("2.500 -0.125000 3 1e+00?", "%.3f %f %.0f 1e+00?", 2.5, -0.125, 3.49);
  EXPECT("0.100 1.000", "%.3f %.3f", 0.1, 0.9995);
  EXPECT("123456789.000000", "%f", 123456789.0);
  EXPECT("inf -inf nan", "%f %f %f", __builtin_inf(), -__builtin_inf(), __builtin_nan(""));
  EXPECT("[  1.50]", "[%6.2f]", 1.5);
  EXPECT("[-01.50]", "[%06.2f]", -1.5);
  EXPECT("%q", "%q");
  EXPECT("end%", "end%");

  /* Truncation: always NUL-terminated, returns the full length. */
  char small[6];
  memset(small, 'z', sizeof small);
  int n = glint_snprintf(small, sizeof small, "%s-%d", "hello", 12345);
  CHECK(n == 11, "full length returned: %d", n);
  CHECK(strcmp(small, "hello") == 0, "truncated to size-1: %s", small);
  memset(small, 'z', sizeof small);
  n = glint_snprintf(small, 0, "abc");
  CHECK(n == 3 && small[0] == 'z', "size 0 writes nothing");
  n = glint_snprintf(NULL, 0, "%d", 1234);
  CHECK(n == 4, "NULL buffer measures");
  n = glint_snprintf(small, 1, "abc");
  CHECK(n == 3 && small[0] == '\0', "size 1 gives an empty string");
}
