/*
 * hostile - a test guest that attacks its host: garbage records, lying lengths, bad pointers, host
 * call floods and re-entry, resource exhaustion, self-modification, wild jumps, privileged
 * instructions and endless loops. The host must end each call in a typed error within its limits,
 * stay healthy, and give the sandbox back working after a restore (docs/reliability.md).
 *
 *   Ok(i32 x) -> i32                  returns x + 1: the health check after an attack
 *   Garbage(i32 port, i32 seed) -> i32
 *                                     fills the whole output buffer with pseudo-random bytes, then
 *                                     signals `port` (0x100..0x105) and again if resumed: no record
 *                                     the host can accept
 *   ClaimTooLong(i32 kind) -> i32     writes a record whose lengths lie, then signals: 0 return
 *                                     record with a payload length past the buffer; 1 return record
 *                                     with a string of 2^31 bytes; 2 log with a message length of
 *                                     0xFFFFFFFF; 3 host call with a bytes argument longer than the
 *                                     payload; 4 abort with a message of 1 MiB (over 64 KiB)
 *   StringAt(i64 address, i32 length) -> string
 *                                     returns a string the SDK copies from `address`: outside
 *                                     guest memory (unmapped, non-canonical, or the host-only
 *                                     pages at CPL 3) the copy faults
 *   HostFlood(i32 count) -> i64       calls host function Count(i32) -> i32 `count` times and
 *                                     returns the sum of its answers
 *   Reenter() -> i32                  calls host function Reenter() -> i32, whose host side calls
 *                                     back into this sandbox; returns the host call's result, or
 *                                     -code if the host answered with an error
 *   ExhaustHeap() -> i32              allocates 4 KiB blocks until malloc fails, never frees them,
 *                                     then fails with code 100 and "heap exhausted after N blocks"
 *   Allocate(i32 bytes) -> i32        returns 1 if malloc(bytes) succeeds (the block is freed), 0
 *   WritePastHeap() -> i32            writes the first byte after the heap (the input buffer,
 *                                     read-only to the guest): #PF
 *   StackOverflow() -> i32            unbounded recursion into the guard page: #PF
 *   WriteCode() -> i32                writes into its own text: #PF
 *   Jump(i64 address) -> i32          calls code at `address`: #PF (unmapped) or #GP (non-canonical)
 *   Wrmsr() -> i32                    writes all ones to IA32_EFER (reserved bits): #GP
 *   LgdtGarbage() -> i32              loads a GDT of limit 0 at a wild base, then reloads DS: #GP at
 *                                     CPL 3 (lgdt is privileged); at CPL 0 the reload faults and
 *                                     the fault cannot be delivered through the broken GDT (a
 *                                     triple fault)
 *   CliHlt() -> i32                   cli; hlt, forever: #GP at CPL 3; at CPL 0 a halt exit
 *   Spin() -> i32                     loops forever without an exit: only a timeout ends it
 *   StringOut(i32 port, i32 count) -> i32
 *                                     sets its result to count (the return record is written at
 *                                     once), then `rep outsb` count bytes to `port`: to RETURN the
 *                                     first item ends the call with the vCPU left in the middle of
 *                                     a string instruction, which the next call must not see
 *   StringIn(i32 port, i32 count) -> i32
 *                                     `rep insb` count bytes from `port` into the heap: the ABI has
 *                                     no input ports
 */
#include <glint.h>

static inline void signal_port(uint16_t port) {
  __asm__ volatile("outb %%al, %%dx" : : "a"((uint8_t)0), "d"(port) : "memory");
}

/* An address the compiler cannot reason about. */
static inline uintptr_t opaque(uintptr_t addr) {
  __asm__("" : "+r"(addr));
  return addr;
}

static void ok(const glint_args *a, glint_result *r) { glint_result_i32(r, glint_arg_i32(a, 0) + 1); }

static void garbage(const glint_args *a, glint_result *r) {
  const glint_descriptor *d = glint_descriptor_page();
  uint64_t *out = (uint64_t *)(uintptr_t)d->output_addr;
  uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uint32_t)glint_arg_i32(a, 1);
  for (uint64_t i = 0; i < d->output_size / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = x;
  }
  uint8_t *bytes = (uint8_t *)out;
  if (bytes[0] == 0x47 && bytes[1] == 0x4C) bytes[0] = 0; /* never a record magic */
  uint16_t port = (uint16_t)glint_arg_i32(a, 0);
  for (;;) signal_port(port);
}

static void put_header(uint8_t *out, uint8_t kind, uint32_t length) {
  out[0] = 0x47;
  out[1] = 0x4C;
  out[2] = 1;
  out[3] = kind;
  memcpy(out + 4, &length, 4);
}

static void claim_too_long(const glint_args *a, glint_result *r) {
  const glint_descriptor *d = glint_descriptor_page();
  uint8_t *out = (uint8_t *)(uintptr_t)d->output_addr;
  uint32_t huge = 0x80000000u;
  uint16_t port = 0x101;
  switch (glint_arg_i32(a, 0)) {
    case 0: /* return record, payload length past the buffer */
      put_header(out, 2, (uint32_t)d->output_size);
      break;
    case 1: /* return record: ok, string of 2^31 bytes in a 9-byte payload */
      put_header(out, 2, 6);
      out[8] = 0;
      out[9] = 8;
      memcpy(out + 10, &huge, 4);
      break;
    case 2: /* log: message length 0xFFFFFFFF */
      put_header(out, 5, 5);
      out[8] = 3;
      memset(out + 9, 0xFF, 4);
      port = 0x103;
      break;
    case 3: { /* host call "Count", one bytes argument claiming 1000 bytes, 2 present */
      static const uint8_t call[] = {5, 0, 'C', 'o', 'u', 'n', 't', 1, 9, 0xE8, 3, 0, 0, 7, 7};
      put_header(out, 3, sizeof call);
      memcpy(out + 8, call, sizeof call);
      port = 0x102;
      break;
    }
    default: { /* abort: a 1 MiB message, over the 64 KiB limit (and past a small buffer) */
      uint32_t mib = 1u << 20;
      put_header(out, 6, 8);
      memset(out + 8, 0, 4);
      memcpy(out + 12, &mib, 4);
      port = 0x104;
      break;
    }
  }
  for (;;) signal_port(port);
}

static void string_at(const glint_args *a, glint_result *r) {
  const char *s = (const char *)opaque((uintptr_t)glint_arg_i64(a, 0));
  glint_result_string(r, s, (uint32_t)glint_arg_i32(a, 1));
}

static void host_flood(const glint_args *a, glint_result *r) {
  int32_t count = glint_arg_i32(a, 0);
  int64_t sum = 0;
  for (int32_t i = 0; i < count; i++) {
    glint_value arg = glint_i32(i);
    glint_value ret;
    int rc = glint_host_call("Count", GLINT_I32, 1, &arg, &ret);
    if (rc != 0) {
      glint_result_error(r, GLINT_ERR_FAILED, "host call %d failed with %d", (int)i, rc);
      return;
    }
    sum += ret.as.i32;
  }
  glint_result_i64(r, sum);
}

static void reenter(const glint_args *a, glint_result *r) {
  glint_value ret;
  int rc = glint_host_call("Reenter", GLINT_I32, 0, NULL, &ret);
  glint_result_i32(r, rc == 0 ? ret.as.i32 : -rc);
}

static void exhaust_heap(const glint_args *a, glint_result *r) {
  int32_t blocks = 0;
  while (malloc(4096) != NULL) blocks++;
  glint_result_error(r, 100, "heap exhausted after %d blocks", (int)blocks);
}

static void allocate(const glint_args *a, glint_result *r) {
  void *p = malloc((size_t)(uint32_t)glint_arg_i32(a, 0));
  glint_result_i32(r, p != NULL);
  free(p);
}

static void write_past_heap(const glint_args *a, glint_result *r) {
  const glint_descriptor *d = glint_descriptor_page();
  *(volatile uint8_t *)opaque((uintptr_t)(d->heap_addr + d->heap_size)) = 1;
  glint_result_i32(r, 0);
}

static volatile uint64_t depth_limit = ~(uint64_t)0;

static __attribute__((noinline)) uint64_t recurse(uint64_t depth) {
  volatile uint8_t frame[512];
  if (depth == depth_limit) return 0;
  frame[depth % sizeof frame] = (uint8_t)depth;
  return recurse(depth + 1) + frame[depth % sizeof frame];
}

static void stack_overflow(const glint_args *a, glint_result *r) {
  glint_result_i32(r, (int32_t)recurse(0));
}

static void write_code(const glint_args *a, glint_result *r) {
  *(volatile uint8_t *)opaque((uintptr_t)&write_code) = 0xCC;
  glint_result_i32(r, 0);
}

static void jump(const glint_args *a, glint_result *r) {
  void (*fn)(void) = (void (*)(void))opaque((uintptr_t)glint_arg_i64(a, 0));
  fn();
  glint_result_i32(r, 0);
}

static void wrmsr_efer(const glint_args *a, glint_result *r) {
  __asm__ volatile("wrmsr" : : "c"(0xC0000080u), "a"(0xFFFFFFFFu), "d"(0xFFFFFFFFu) : "memory");
  glint_result_i32(r, 0);
}

static void lgdt_garbage(const glint_args *a, glint_result *r) {
  static struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } gdtr = {0, 0xDEAD0000ull};
  __asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
  __asm__ volatile("mov %0, %%ds" : : "r"((uint32_t)0x10) : "memory");
  glint_result_i32(r, 0);
}

static void cli_hlt(const glint_args *a, glint_result *r) {
  for (;;) __asm__ volatile("cli; hlt" ::: "memory");
}

static void spin(const glint_args *a, glint_result *r) {
  for (;;) __asm__ volatile("" ::: "memory");
}

static void string_out(const glint_args *a, glint_result *r) {
  glint_result_i32(r, glint_arg_i32(a, 1));
  const void *from = (const void *)(uintptr_t)glint_descriptor_page()->output_addr;
  uint64_t n = (uint32_t)glint_arg_i32(a, 1);
  __asm__ volatile("rep outsb"
                   : "+S"(from), "+c"(n)
                   : "d"((uint16_t)glint_arg_i32(a, 0))
                   : "memory");
}

static void string_in(const glint_args *a, glint_result *r) {
  void *to = (void *)(uintptr_t)glint_descriptor_page()->heap_addr;
  uint64_t n = (uint32_t)glint_arg_i32(a, 1);
  __asm__ volatile("rep insb" : "+D"(to), "+c"(n) : "d"((uint16_t)glint_arg_i32(a, 0)) : "memory");
  glint_result_i32(r, 0);
}

void glint_init(void) {
  static const glint_type i32[] = {GLINT_I32}, i32_i32[] = {GLINT_I32, GLINT_I32},
                          i64[] = {GLINT_I64}, i64_i32[] = {GLINT_I64, GLINT_I32};
  glint_register("Ok", GLINT_I32, 1, i32, ok);
  glint_register("Garbage", GLINT_I32, 2, i32_i32, garbage);
  glint_register("ClaimTooLong", GLINT_I32, 1, i32, claim_too_long);
  glint_register("StringAt", GLINT_STRING, 2, i64_i32, string_at);
  glint_register("HostFlood", GLINT_I64, 1, i32, host_flood);
  glint_register("Reenter", GLINT_I32, 0, NULL, reenter);
  glint_register("ExhaustHeap", GLINT_I32, 0, NULL, exhaust_heap);
  glint_register("Allocate", GLINT_I32, 1, i32, allocate);
  glint_register("WritePastHeap", GLINT_I32, 0, NULL, write_past_heap);
  glint_register("StackOverflow", GLINT_I32, 0, NULL, stack_overflow);
  glint_register("WriteCode", GLINT_I32, 0, NULL, write_code);
  glint_register("Jump", GLINT_I32, 1, i64, jump);
  glint_register("Wrmsr", GLINT_I32, 0, NULL, wrmsr_efer);
  glint_register("LgdtGarbage", GLINT_I32, 0, NULL, lgdt_garbage);
  glint_register("CliHlt", GLINT_I32, 0, NULL, cli_hlt);
  glint_register("Spin", GLINT_I32, 0, NULL, spin);
  glint_register("StringOut", GLINT_I32, 2, i32_i32, string_out);
  glint_register("StringIn", GLINT_I32, 2, i32_i32, string_in);
}
