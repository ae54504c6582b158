/*
 * Counts guest instructions without perf (no hardware counters on these machines): the guest SDK's
 * SHA-256 (sdk/src/sha256.c and the memcpy of sdk/src/libc.c, compiled with the guest's
 * code-generation flags, so the same machine code as in the compute guest, which the benchmark
 * checks) runs in a child process that the parent single-steps with ptrace, one
 * PTRACE_SINGLESTEP per user-mode instruction.
 *
 *   count_steps BYTES   one glint_sha256 over BYTES bytes (byte i = (i * 31 + 7) mod 256)
 *
 * The child stops itself three times (raise(SIGSTOP)): A, B, then C after the digest. The steps
 * from A to B are the cost of one raise() alone; the steps from B to C minus those are the
 * digest's instructions. Prints "steps bytes=<n> instructions=<count> baseline=<count>".
 * Written for this project.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* Steps the stopped child until it stops with SIGSTOP again; returns the number of steps. */
static long step_to_next_stop(pid_t child) {
  long steps = 0;
  for (;;) {
    if (ptrace(PTRACE_SINGLESTEP, child, NULL, NULL) != 0) {
      perror("PTRACE_SINGLESTEP");
      exit(3);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
      fprintf(stderr, "the child ended while being stepped\n");
      exit(3);
    }
    if (WSTOPSIG(status) == SIGSTOP) return steps;
    if (WSTOPSIG(status) != SIGTRAP) {
      fprintf(stderr, "unexpected signal %d in the child\n", WSTOPSIG(status));
      exit(3);
    }
    steps++;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: count_steps BYTES\n");
    return 1;
  }
  size_t bytes = strtoul(argv[1], NULL, 10);
  uint8_t *data = malloc(bytes ? bytes : 1);
  if (!data) return 2;
  for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)(i * 31 + 7);
  pid_t child = fork();
  if (child == 0) {
    uint8_t digest[32];
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP); /* A */
    raise(SIGSTOP); /* B */
    glint_sha256(data, bytes, digest);
    raise(SIGSTOP); /* C */
    _exit(digest[0] == 0x5a ? 0 : 0);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) return 3;
  long baseline = step_to_next_stop(child);
  long total = step_to_next_stop(child);
  ptrace(PTRACE_CONT, child, NULL, NULL);
  waitpid(child, &status, 0);
  printf("steps bytes=%zu instructions=%ld baseline=%ld\n", bytes, total - baseline, baseline);
  return 0;
}
