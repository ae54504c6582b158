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
  EXPECT("2 0.1 -1e400", "%.0f %.1f -1e400", 2.5, 0.05);
  EXPECT("[1.0] [+3] [   -0.500]", "[%.1f] [%+.0f] [%9.3f]", 0.96, 3.0, -0.5);
  EXPECT("100000000000000000000.00", "%.2f", 1e20);
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

/* glint_format_f64 on bit patterns, against the host's printf (exact, round half to even). */
void test_format_f64(void) {
  static const double values[] = {0.0, -0.0, 1.0, 0.5, 0.125, 2.5, 0.1, 0.9995, 1e-300, 5e-324,
                                  123456789.123456789, 4503599627370496.5, 9007199254740993.0,
                                  1e22, 1.7976931348623157e308, 0.0005, 0.0015, 0.0025, 2.675,
                                  1e-7, 3.14159265358979};
  static const int precisions[] = {0, 1, 2, 3, 6, 10, 17};
  int mismatches = 0;
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    for (size_t k = 0; k < sizeof precisions / sizeof precisions[0]; k++) {
      for (int sign = 0; sign < 2; sign++) {
        double x = sign ? -values[i] : values[i];
        uint64_t bits;
        memcpy(&bits, &x, 8);
        char got[400], want[400];
        int n = glint_format_f64(got, sizeof got, bits, precisions[k]);
        snprintf(want, sizeof want, "%.*f", precisions[k], x);
        if (strcmp(got, want) != 0 || n != (int)strlen(want)) {
          mismatches++;
          fprintf(stderr, "  %%.%df of %.17g: got %s, want %s\n", precisions[k], x, got, want);
        }
      }
    }
  }
  CHECK(mismatches == 0, "%d %%f results differ from glibc's", mismatches);
  /* Random bit patterns over the whole range, at precision 17 and 0. */
  uint64_t r = 0x123456789ABCDEFull;
  mismatches = 0;
  for (int i = 0; i < 20000; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    double x;
    memcpy(&x, &r, 8);
    if (x != x || x - x != 0) continue; /* nan and inf are separate cases */
    char got[400], want[400];
    int prec = i % 2 ? 17 : (int)(r % 7);
    glint_format_f64(got, sizeof got, r, prec);
    snprintf(want, sizeof want, "%.*f", prec, x);
    if (strcmp(got, want) != 0 && mismatches++ < 5) {
      fprintf(stderr, "  %%.%df of bits %016llx: got %s, want %s\n", prec,
              (unsigned long long)r, got, want);
    }
  }
  CHECK(mismatches == 0, "%d random %%f results differ from glibc's", mismatches);
  char small[5];
  uint64_t bits;
  double x = 1234.5;
  memcpy(&bits, &x, 8);
  CHECK(glint_format_f64(small, sizeof small, bits, 1) == 6 && strcmp(small, "1234") == 0,
        "glint_format_f64 truncates like snprintf");
}
