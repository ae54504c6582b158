/*
 * state - a test guest for snapshots and restore: its functions leave state behind (a counter in
 * .bss, heap blocks, written pages) that a host restoring the sandbox to a snapshot must see gone,
 * and run for as long as the host asks (for timeouts and cancellation).
 *
 * Errors are status 1, code 3 (GLINT_ERR_FAILED), with the message shown. (The SDK has no code for
 * an argument value out of range: code 2 means an argument of the wrong type.)
 *
 *   Increment() -> i64
 *       Adds 1 to a global 64-bit counter in .bss (0 in a fresh guest; wraps) and returns the new
 *       value: 1, 2, 3, ... in a fresh guest.
 *   Counter() -> i64
 *       The counter, unchanged.
 *   Allocate(i32 bytes) -> i64
 *       mallocs `bytes` (1 up to the heap size), fills every byte of the block with 0xA5 and keeps
 *       it (never freed), then returns the total of the `bytes` of every successful Allocate so
 *       far (block headers and alignment not counted). Errors, leaving the total unchanged:
 *         bytes <= 0:         "Allocate: bytes must be positive, got <bytes>"
 *         malloc failed:      "Allocate(<bytes>): out of heap after <total> bytes"
 *   Allocated() -> i64
 *       That total, unchanged (0 in a fresh guest).
 *   TouchPages(i32 n) -> i32
 *       Writes one byte into each of the first n of 64 pages (4 KiB each) of a page-aligned static
 *       buffer in .bss that shares its pages with nothing else, and returns n. The byte is the
 *       first of each page and counts the times its page was touched (1, 2, ..., 255, then 1
 *       again: never 0, so each call changes it). Nothing else in the guest's data is written, so
 *       a call dirties exactly n pages besides what the SDK writes for every call (its own state,
 *       the stack, the output buffer). n = 0 writes nothing. Error, nothing written:
 *         n outside 0..64:    "TouchPages: n must be 0..64, got <n>"
 *   Work(i64 iterations) -> i64
 *       Runs `iterations` rounds of xorshift64 (x ^= x << 13; x ^= x >> 7; x ^= x << 17, on u64)
 *       from x = 0x9E3779B97F4A7C15 and returns x as i64: Work(0) returns the seed,
 *       -7046029254386353131. Registers only: no memory writes beyond the stack, no exits, so it
 *       runs for a time proportional to `iterations` (a few instructions a round) and a host can
 *       cancel it anywhere. The compiler cannot shorten the loop. Error:
 *         iterations < 0:     "Work: iterations must be >= 0, got <iterations>"
 *   Spin() -> void
 *       Loops forever with no exits and no memory writes: the host must time it out or cancel it.
 */
#include <glint.h>

#define PAGE_SIZE 4096
#define PAGES 64
#define WORK_SEED 0x9E3779B97F4A7C15ull

static uint64_t counter;
static int64_t allocated;
/* Page-aligned and a whole number of pages: no other variable shares these pages. */
static uint8_t pages[PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void increment(const glint_args *a, glint_result *r) {
  counter++;
  glint_result_i64(r, (int64_t)counter);
}

static void get_counter(const glint_args *a, glint_result *r) {
  glint_result_i64(r, (int64_t)counter);
}

static void allocate(const glint_args *a, glint_result *r) {
  int32_t bytes = glint_arg_i32(a, 0);
  if (bytes <= 0) {
    glint_result_error(r, GLINT_ERR_FAILED, "Allocate: bytes must be positive, got %d", bytes);
    return;
  }
  void *block = malloc((size_t)bytes);
  if (!block) {
    glint_result_error(r, GLINT_ERR_FAILED, "Allocate(%d): out of heap after %lld bytes", bytes,
                       (long long)allocated);
    return;
  }
  /* Leaked on purpose: the block stays in use until the sandbox is reset. The fill stays too
   * (-ffreestanding: the compiler knows neither malloc nor memset). */
  memset(block, 0xA5, (size_t)bytes);
  allocated += bytes;
  glint_result_i64(r, allocated);
}

static void get_allocated(const glint_args *a, glint_result *r) {
  glint_result_i64(r, allocated);
}

static void touch_pages(const glint_args *a, glint_result *r) {
  int32_t n = glint_arg_i32(a, 0);
  if (n < 0 || n > PAGES) {
    glint_result_error(r, GLINT_ERR_FAILED, "TouchPages: n must be 0..%d, got %d", PAGES, n);
    return;
  }
  for (int32_t i = 0; i < n; i++) {
    uint8_t next = (uint8_t)(pages[i][0] + 1);
    pages[i][0] = next ? next : 1;
  }
  glint_result_i32(r, n);
}

static void work(const glint_args *a, glint_result *r) {
  int64_t iterations = glint_arg_i64(a, 0);
  if (iterations < 0) {
    glint_result_error(r, GLINT_ERR_FAILED, "Work: iterations must be >= 0, got %lld",
                       (long long)iterations);
    return;
  }
  uint64_t x = WORK_SEED;
  for (int64_t i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    /* x passes through an opaque register operation each round: the compiler can neither
     * compute the loop ahead nor merge rounds. No memory operand, no clobber: no store. */
    __asm__ volatile("" : "+r"(x));
  }
  glint_result_i64(r, (int64_t)x);
}

static void spin(const glint_args *a, glint_result *r) {
  for (;;) {
    __asm__ volatile("");
  }
}

void glint_init(void) {
  static const glint_type i32[] = {GLINT_I32}, i64[] = {GLINT_I64};
  glint_register("Increment", GLINT_I64, 0, NULL, increment);
  glint_register("Counter", GLINT_I64, 0, NULL, get_counter);
  glint_register("Allocate", GLINT_I64, 1, i32, allocate);
  glint_register("Allocated", GLINT_I64, 0, NULL, get_allocated);
  glint_register("TouchPages", GLINT_I32, 1, i32, touch_pages);
  glint_register("Work", GLINT_I64, 1, i64, work);
  glint_register("Spin", GLINT_VOID, 0, NULL, spin);
}
