/*
 * test.h - a minimal test harness for the SDK's native tests: each CHECK counts as one test, a
 * failure prints where and why and the run goes on; main prints "N passed, N failed".
 */
#ifndef GLINT_TEST_H
#define GLINT_TEST_H

#include <stdio.h>

#include "internal.h"

extern int tests_passed, tests_failed;

#define CHECK(cond, ...)                                      \
  do {                                                        \
    if (cond) {                                               \
      tests_passed++;                                         \
    } else {                                                  \
      tests_failed++;                                         \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                           \
      fputc('\n', stderr);                                    \
    }                                                         \
  } while (0)

void test_wire(void);
void test_format(void);
void test_format_f64(void);
void test_malloc(void);
void test_libc(void);
void test_sha256(void);
void test_runtime(void);

#endif
