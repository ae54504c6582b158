/* The native test runner: runs every group and exits non-zero on any failure. */
#include <setjmp.h>
#include <stdlib.h>

#include "test.h"

int tests_passed, tests_failed, abort_calls;

/* The SDK's glint_abort signals the host; natively, count the call and stop the test binary's
 * current operation through exit-free means is not needed: no test reaches it on purpose. */
void glint_abort(int32_t code, const char *fmt, ...) {
  abort_calls++;
  fprintf(stderr, "glint_abort(%d, %s) called\n", code, fmt);
  fprintf(stdout, "%d passed, %d failed\n", tests_passed, tests_failed + 1);
  exit(1);
}

int main(void) {
  test_libc();
  test_wire();
  test_format();
  test_format_f64();
  test_malloc();
  test_sha256();
  printf("%d passed, %d failed\n", tests_passed, tests_failed);
  return tests_failed ? 1 : 0;
}
