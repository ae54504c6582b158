/* The native test runner: runs every group and exits non-zero on any failure. */
#include <stdlib.h>

#include "test.h"

int tests_passed, tests_failed;

int main(void) {
  test_libc();
  test_wire();
  test_format();
  test_format_f64();
  test_malloc();
  test_sha256();
  test_runtime();
  printf("%d passed, %d failed\n", tests_passed, tests_failed);
  return tests_failed ? 1 : 0;
}
