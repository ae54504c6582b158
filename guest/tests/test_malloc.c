/*
 * The heap allocator over a plain buffer: exhaustion, alignment, merging, and a randomized stress
 * run of malloc/free/realloc/calloc in which every block carries a pattern that must survive.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define HEAP_SIZE (1 << 20)
#define SLOTS 512

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 13);
}
static bool intact(const uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != (uint8_t)(seed + i * 13)) return false;
  }
  return true;
}

void test_malloc(void) {
  uint8_t *heap = aligned_alloc(4096, HEAP_SIZE);
  glint_heap_init(heap + 3, HEAP_SIZE - 3); /* an unaligned region is rounded inwards */
  CHECK(glint_heap_check() == 0, "fresh heap consistent");

  void *a = glint_test_malloc(1), *b = glint_test_malloc(100), *c = glint_test_malloc(0);
  CHECK(a && b && c, "small allocations succeed");
  CHECK(((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) % 16 == 0, "16-byte aligned");
  CHECK((uint8_t *)a >= heap + 3 && (uint8_t *)b < heap + HEAP_SIZE, "inside the heap");
  CHECK(glint_test_malloc(HEAP_SIZE) == NULL, "larger than the heap: NULL");
  CHECK(glint_test_malloc(SIZE_MAX) == NULL, "SIZE_MAX: NULL");
  CHECK(glint_test_calloc(SIZE_MAX / 2, 4) == NULL, "calloc overflow: NULL");
  glint_test_free(a);
  glint_test_free(b);
  glint_test_free(c);
  glint_test_free(NULL);
  CHECK(glint_heap_check() == 0, "consistent after frees");

  /* After everything is freed, the whole heap is one block again: a near-heap-sized allocation
   * succeeds, which it cannot unless the free blocks merged. */
  void *big = glint_test_malloc(HEAP_SIZE - 64);
  CHECK(big != NULL, "blocks merged back into one");
  CHECK(glint_test_malloc(64) == NULL, "heap exhausted: NULL, not a crash");
  glint_test_free(big);

  /* Exhaustion with many small blocks, then everything back. */
  void **many = calloc(HEAP_SIZE / 32, sizeof *many);
  size_t count = 0;
  while ((many[count] = glint_test_malloc(16)) != NULL) count++;
  CHECK(count == (HEAP_SIZE - 16) / 32, "32-byte blocks tile the heap: %zu", count);
  for (size_t i = 0; i < count; i += 2) glint_test_free(many[i]);
  for (size_t i = 1; i < count; i += 2) glint_test_free(many[i]);
  CHECK(glint_heap_check() == 0, "consistent after freeing in two passes");
  CHECK((big = glint_test_malloc(HEAP_SIZE - 64)) != NULL, "merged again");
  glint_test_free(big);
  free(many);

  uint8_t *z = glint_test_calloc(100, 10);
  bool zero = z != NULL;
  for (int i = 0; zero && i < 1000; i++) zero = z[i] == 0;
  CHECK(zero, "calloc zeroes");
  glint_test_free(z);

  /* realloc: grow keeps the contents, shrink keeps the prefix, NULL and 0 behave as C says. */
  uint8_t *r = glint_test_realloc(NULL, 50);
  fill(r, 50, 1);
  uint8_t *blocker = glint_test_malloc(10); /* forces the next growth to move */
  r = glint_test_realloc(r, 5000);
  CHECK(r && intact(r, 50, 1), "realloc grow keeps the contents");
  r = glint_test_realloc(r, 20);
  CHECK(r && intact(r, 20, 1), "realloc shrink keeps the prefix");
  CHECK(glint_test_realloc(r, 0) == NULL, "realloc to 0 frees");
  glint_test_free(blocker);
  CHECK(glint_heap_check() == 0, "consistent after realloc");

  /* Random stress. */
  uint8_t *ptr[SLOTS] = {0};
  size_t len[SLOTS] = {0};
  uint8_t seed[SLOTS] = {0};
  int failures = 0, ooms = 0, checks_failed = 0;
  for (int step = 0; step < 200000; step++) {
    int s = (int)(next_random() % SLOTS);
    size_t n = next_random() % ((next_random() & 7) == 0 ? 40000 : 300);
    int op = (int)(next_random() % 4);
    if (ptr[s] && !intact(ptr[s], len[s], seed[s])) failures++;
    if (op == 0 || (!ptr[s] && op != 3)) {
      glint_test_free(ptr[s]);
      ptr[s] = glint_test_malloc(n);
    } else if (op == 1) {
      glint_test_free(ptr[s]);
      ptr[s] = NULL;
      continue;
    } else if (op == 2) {
      uint8_t *q = glint_test_realloc(ptr[s], n);
      if (q == NULL && n != 0) {
        ooms++;
        continue; /* the old block is still valid and intact */
      }
      size_t keep = len[s] < n ? len[s] : n;
      if (q && !intact(q, keep, seed[s])) failures++;
      ptr[s] = q;
    } else {
      glint_test_free(ptr[s]);
      ptr[s] = glint_test_calloc(1, n);
      for (size_t i = 0; ptr[s] && i < n; i++) failures += ptr[s][i] != 0;
    }
    if (!ptr[s]) {
      if (n) ooms++;
      len[s] = 0;
      continue;
    }
    len[s] = n;
    seed[s] = (uint8_t)next_random();
    fill(ptr[s], n, seed[s]);
    if (step % 1000 == 0 && glint_heap_check() != 0) checks_failed++;
  }
  CHECK(failures == 0, "stress: %d corrupted blocks", failures);
  CHECK(checks_failed == 0, "stress: heap inconsistent %d times", checks_failed);
  CHECK(ooms > 0, "stress reached exhaustion at least once (so NULL paths ran)");
  for (int s = 0; s < SLOTS; s++) glint_test_free(ptr[s]);
  CHECK(glint_heap_check() == 0, "consistent at the end");
  CHECK((big = glint_test_malloc(HEAP_SIZE - 64)) != NULL, "everything merged at the end");
  free(heap);
}
