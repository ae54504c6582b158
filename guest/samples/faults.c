/*
 * faults - a test guest whose functions fail in every way the host must survive.
 *
 * Every function takes no arguments and returns i32. A function whose fault does not happen (for
 * example Privileged where the instruction is allowed) returns 0, so a test can tell "no fault"
 * from a fault. Vectors: #DE 0, #BP 3, #UD 6, #GP 13, #PF 14 (ABI 6).
 *
 *   NullDeref            reads address 0 (page 0 is unmapped): #PF, CR2 = 0
 *   WriteNull            writes address 8: #PF, CR2 = 8
 *   DivideByZero         integer division by zero: #DE
 *   InvalidOpcode        ud2: #UD
 *   Breakpoint           int3: #BP (3) at CPL 0; at CPL 3 the IDT gate (DPL 0) makes it #GP (13)
 *                        on hardware, while PVM delivers #BP (3). At CPL 0 on PVM, KVM's emulator
 *                        cannot run int3: KVM_EXIT_INTERNAL_ERROR
 *   StackOverflow        unbounded recursion (256+ bytes a frame) into the unmapped guard page
 *                        below the stack: #PF with CR2 just below the stack
 *   InfiniteLoop         for (;;) with no exit: the host must time the call out (or cancel it)
 *   WriteCode            writes into its own text segment (read-only): #PF
 *   ExecuteData          jumps into the data segment (no-execute): #PF
 *   WriteInput           writes into the input buffer (read-only for the guest): #PF
 *   Privileged           hlt: #GP at CPL 3; at CPL 0 the vCPU halts (a Halt exit)
 *   ForbiddenPort        out to port 0x80, outside 0x100-0x10F: #GP at CPL 3; at CPL 0 an I/O
 *                        exit on an unknown port (a protocol violation)
 *   CallUnregisteredHost calls host function "NoSuchHostFunction"; returns the error code it got
 *                        (1, not found, from a correct host) instead of faulting
 *   GarbageOutput        fills the whole output buffer with pseudo-random bytes, then signals
 *                        RETURN (port 0x101) directly: the host must reject the record
 *   OversizedRecord      writes a return-record header whose payload length (0xFFFFFFF0) exceeds
 *                        the output buffer, then signals RETURN
 *   Abort                glint_abort(42, "abort requested by the faults guest")
 */
#include <glint.h>

static inline void signal_return(void) {
  __asm__ volatile("outb %%al, %%dx" : : "a"((uint8_t)0), "d"((uint16_t)0x101) : "memory");
}

/* An address the compiler cannot reason about (it would warn, or assume the access away). */
static inline volatile int32_t *opaque_address(uintptr_t addr) {
  __asm__("" : "+r"(addr));
  return (volatile int32_t *)addr;
}

static void null_deref(const glint_args *a, glint_result *r) {
  glint_result_i32(r, *opaque_address(0));
}

static void write_null(const glint_args *a, glint_result *r) {
  *opaque_address(8) = 1;
  glint_result_i32(r, 0);
}

static void divide_by_zero(const glint_args *a, glint_result *r) {
  volatile int32_t zero = 0; /* volatile: the compiler cannot see the divisor */
  glint_result_i32(r, 1000 / zero);
}

static void invalid_opcode(const glint_args *a, glint_result *r) {
  __asm__ volatile("ud2");
  glint_result_i32(r, 0);
}

static void breakpoint(const glint_args *a, glint_result *r) {
  __asm__ volatile("int3");
  glint_result_i32(r, 0);
}

/*
 * Not a tail call and not foldable: each frame keeps a volatile array alive across the recursive
 * call and uses the callee's result afterwards. The depth limit is volatile, so the compiler cannot
 * prove the recursion unbounded (it would refuse it) nor bounded; no stack reaches it.
 */
static volatile uint64_t depth_limit = ~(uint64_t)0;

static __attribute__((noinline)) uint64_t recurse(uint64_t depth) {
  volatile uint8_t frame[256];
  if (depth == depth_limit) return 0;
  frame[depth % sizeof frame] = (uint8_t)depth;
  return recurse(depth + 1) + frame[depth % sizeof frame];
}

static void stack_overflow(const glint_args *a, glint_result *r) {
  glint_result_i32(r, (int32_t)recurse(0));
}

static void infinite_loop(const glint_args *a, glint_result *r) {
  for (;;) {
  }
}

static void write_code(const glint_args *a, glint_result *r) {
  *(volatile uint8_t *)(uintptr_t)&write_code = 0xC3;
  glint_result_i32(r, 0);
}

static uint8_t data_bytes[16] = {0xC3}; /* `ret`, in a writable, no-execute segment */

static void execute_data(const glint_args *a, glint_result *r) {
  void (*fn)(void) = (void (*)(void))(uintptr_t)data_bytes;
  __asm__ volatile("" : "+r"(fn)); /* keep the call: the compiler must not reason about it */
  fn();
  glint_result_i32(r, 0);
}

static void write_input(const glint_args *a, glint_result *r) {
  *(volatile uint8_t *)(uintptr_t)glint_descriptor_page()->input_addr = 0;
  glint_result_i32(r, 0);
}

static void privileged(const glint_args *a, glint_result *r) {
  __asm__ volatile("hlt");
  glint_result_i32(r, 0);
}

static void forbidden_port(const glint_args *a, glint_result *r) {
  __asm__ volatile("outb %%al, %%dx" : : "a"((uint8_t)0), "d"((uint16_t)0x80) : "memory");
  glint_result_i32(r, 0);
}

static void call_unregistered_host(const glint_args *a, glint_result *r) {
  int rc = glint_host_call("NoSuchHostFunction", GLINT_I32, 0, NULL, NULL);
  glint_result_i32(r, rc);
}

static void garbage_output(const glint_args *a, glint_result *r) {
  const glint_descriptor *d = glint_descriptor_page();
  uint64_t *out = (uint64_t *)(uintptr_t)d->output_addr;
  uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64: cheap bytes with no structure */
  /* Eight bytes a step: the whole buffer, yet few enough instructions to finish quickly where
   * CPL-0 code is emulated. */
  for (uint64_t i = 0; i < d->output_size / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = x;
  }
  /* Whatever the first bytes happen to be, they must not spell a record magic. */
  uint8_t *bytes = (uint8_t *)out;
  if (bytes[0] == 0x47 && bytes[1] == 0x4C) bytes[0] = 0;
  for (;;) signal_return(); /* the host must not resume a poisoned sandbox; if it does, again */
}

static void oversized_record(const glint_args *a, glint_result *r) {
  const glint_descriptor *d = glint_descriptor_page();
  static const uint8_t header[] = {0x47, 0x4C, 1, 2, 0xF0, 0xFF, 0xFF, 0xFF};
  memcpy((void *)(uintptr_t)d->output_addr, header, sizeof header);
  for (;;) signal_return();
}

static void abort_now(const glint_args *a, glint_result *r) {
  glint_abort(42, "abort requested by the faults guest");
}

void glint_init(void) {
  static const struct {
    const char *name;
    glint_fn fn;
  } faults[] = {
      {"NullDeref", null_deref},
      {"WriteNull", write_null},
      {"DivideByZero", divide_by_zero},
      {"InvalidOpcode", invalid_opcode},
      {"Breakpoint", breakpoint},
      {"StackOverflow", stack_overflow},
      {"InfiniteLoop", infinite_loop},
      {"WriteCode", write_code},
      {"ExecuteData", execute_data},
      {"WriteInput", write_input},
      {"Privileged", privileged},
      {"ForbiddenPort", forbidden_port},
      {"CallUnregisteredHost", call_unregistered_host},
      {"GarbageOutput", garbage_output},
      {"OversizedRecord", oversized_record},
      {"Abort", abort_now},
  };
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
    glint_register(faults[i].name, GLINT_I32, 0, NULL, faults[i].fn);
  }
}
