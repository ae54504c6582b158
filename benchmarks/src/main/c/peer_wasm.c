/*
 * The Chicory peer's WebAssembly module: the two benchmark workloads of the hello and compute
 * guests, compiled for wasm32 with clang (no libc) by dev.glint.benchmarks.PeerBenchmark at run
 * time, so that this file, not a committed binary, is the truth.
 *
 * Exports (besides the linear memory "memory"):
 *   input(len) -> ptr           room for a len-byte argument at the start of the heap (grows the
 *                               memory when needed); the host writes the argument there, as
 *                               Glint's host writes it into the guest's input buffer
 *   print_output(len) -> i32    the hello workload: passes the len bytes at input to the imported
 *                               host function env.host_print(ptr, len) -> i32 (one host callback)
 *                               and returns what it returned
 *   sha256(len) -> ptr          the compute workload: the SHA-256 digest of the len bytes at input,
 *                               computed by the guest SDK's own sha256.c; returns the address of
 *                               the 32-byte digest
 *
 * Written for this project.
 */
#include "internal.h"

__attribute__((import_module("env"), import_name("host_print"))) int32_t host_print(
    const uint8_t *text, uint32_t len);

/* Set by wasm-ld: the first byte past the data and the stack, where the memory is free. */
extern uint8_t __heap_base;

static uint8_t digest[32];

__attribute__((export_name("input"))) uint8_t *input(uint32_t len) {
  uint32_t base = (uint32_t)(uintptr_t)&__heap_base;
  uint64_t end = (uint64_t)base + len;
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) < 0) {
    return 0;
  }
  return &__heap_base;
}

__attribute__((export_name("print_output"))) int32_t print_output(uint32_t len) {
  return host_print(&__heap_base, len);
}

__attribute__((export_name("sha256"))) uint8_t *sha256(uint32_t len) {
  glint_sha256(&__heap_base, len, digest);
  return digest;
}
