/*
 * The process-per-call peer: every call is a new process (compiled with gcc -static, so no dynamic
 * loader runs), the way a host isolates work without a VM. Run by dev.glint.benchmarks.PeerBenchmark
 * directly and through spawn_floor.
 *
 *   peer_process hello TEXT   the hello workload: writes TEXT and a newline to stdout; the parent
 *                             reading that line stands for the host callback, the exit for the
 *                             return
 *   peer_process sha256       the compute workload: reads stdin to its end and writes the SHA-256
 *                             digest in hex and a newline, computed by the guest SDK's sha256.c
 *
 * Written for this project.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int hello(const char *text) {
  size_t len = strlen(text);
  char *line = malloc(len + 1);
  if (!line) return 2;
  memcpy(line, text, len);
  line[len] = '\n';
  /* One write, so the parent sees the whole line at once, as the host sees one host call. */
  return write(1, line, len + 1) == (ssize_t)(len + 1) ? 0 : 2;
}

static int sha256(void) {
  size_t capacity = 1 << 20, used = 0;
  uint8_t *data = malloc(capacity);
  if (!data) return 2;
  for (;;) {
    if (used == capacity) {
      capacity *= 2;
      data = realloc(data, capacity);
      if (!data) return 2;
    }
    ssize_t got = read(0, data + used, capacity - used);
    if (got < 0) return 2;
    if (got == 0) break;
    used += (size_t)got;
  }
  uint8_t digest[32];
  glint_sha256(data, used, digest);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  hex[64] = '\n';
  return write(1, hex, 65) == 65 ? 0 : 2;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "hello")) return hello(argv[2]);
  if (argc == 2 && !strcmp(argv[1], "sha256")) return sha256();
  fprintf(stderr, "usage: peer_process hello TEXT | peer_process sha256 < data\n");
  return 1;
}
