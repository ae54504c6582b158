/*
 * Spawns a command again and again and times each run from posix_spawn to its reaping, with the
 * child's peak resident memory from wait4: the process-per-call and QEMU peers, measured from a C
 * parent (the floor of spawning; the JVM's ProcessBuilder adds its own cost on top).
 *
 *   spawn_floor NAME N STDIN_BYTES STATUS COMMAND [ARG...]
 *
 * Each of the N runs: stdout to a pipe, stderr to /dev/null, stdin from a pipe fed STDIN_BYTES
 * bytes (byte i = (i * 31 + 7) mod 256, the benchmarks' pattern) or /dev/null when 0; reads
 * stdout to its end; waits; the exit status must be STATUS (QEMU's isa-debug-exit gives its own).
 * Prints "NAME n=N median_ns=.. p10_ns=.. p90_ns=.. maxrss_kb=<median> parent_maxrss_kb=..
 * output=<first stdout line of the last run>".
 *
 * The child's peak resident memory comes from wait4 (ru_maxrss). The kernel folds the resident
 * set of the address space a process leaves at exec into that figure, so a child's figure is at
 * least this parent's resident set when it spawned: this parent therefore stays small (no large
 * buffers, linked statically) and prints its own peak (VmHWM) as parent_maxrss_kb; a child figure
 * at or below that is only an upper bound. (The same folding is why a child spawned from a JVM reports
 * at least the JVM's peak, and why the Java harness spawns through this program to measure.)
 *
 * Written for this project; dev.glint.benchmarks.PeerBenchmark compiles and runs it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) {
  fprintf(stderr, "spawn_floor: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: spawn_floor NAME N STDIN_BYTES STATUS COMMAND [ARG...]\n");
    return 1;
  }
  const char *name = argv[1];
  size_t n = strtoul(argv[2], NULL, 10), input_bytes = strtoul(argv[3], NULL, 10);
  int expected = atoi(argv[4]);
  char **command = argv + 5;
  if (n < 1) n = 1;
  uint64_t *nanos = malloc(n * sizeof *nanos), *rss = malloc(n * sizeof *rss);
  if (!nanos || !rss) die("malloc");
  /* The pattern repeats every 256 bytes, so one small chunk sent again and again is the input. */
  static uint8_t chunk[16384];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)(i * 31 + 7);
  /* A child that exits before reading all its input must not kill this process. */
  signal(SIGPIPE, SIG_IGN);
  char output[128] = "";

  for (size_t run = 0; run < n; run++) {
    int out[2], in[2] = {-1, -1};
    uint64_t start = now_ns();
    if (pipe2(out, O_CLOEXEC) < 0) die("pipe");
    if (input_bytes && pipe2(in, O_CLOEXEC) < 0) die("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (input_bytes) {
      posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    } else {
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, command[0], &actions, NULL, command, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      errno = rc;
      die(command[0]);
    }
    close(out[1]);
    if (input_bytes) {
      close(in[0]);
      for (size_t sent = 0; sent < input_bytes;) {
        size_t left = input_bytes - sent;
        ssize_t put = write(in[1], chunk + sent % sizeof chunk,
                            left < sizeof chunk - sent % sizeof chunk ? left
                                                                      : sizeof chunk - sent % sizeof chunk);
        if (put < 0) die("write to the child");
        sent += (size_t)put;
      }
      close(in[1]);
    }
    char buffer[4096];
    size_t kept = 0;
    for (;;) {
      ssize_t got = read(out[0], buffer, sizeof buffer);
      if (got < 0) die("read from the child");
      if (got == 0) break;
      for (ssize_t i = 0; i < got && kept + 1 < sizeof output; i++) output[kept++] = buffer[i];
    }
    output[kept] = 0;
    close(out[0]);
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) die("wait4");
    nanos[run] = now_ns() - start;
    rss[run] = (uint64_t)usage.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != expected) {
      fprintf(stderr, "spawn_floor: %s ended with status 0x%x, expected exit %d\n", command[0],
              status, expected);
      return 3;
    }
  }
  output[strcspn(output, "\n")] = 0;
  for (char *c = output; *c; c++) {
    if (*c == ' ') *c = '_';
  }
  qsort(nanos, n, sizeof *nanos, compare_u64);
  qsort(rss, n, sizeof *rss, compare_u64);
  /* This process's own peak: not getrusage(RUSAGE_SELF), which carries the peak of whatever
   * spawned it, folded in at its exec. */
  long own_peak_kb = -1;
  FILE *status_file = fopen("/proc/self/status", "r");
  if (status_file) {
    char line[256];
    while (fgets(line, sizeof line, status_file)) {
      if (!strncmp(line, "VmHWM:", 6)) own_peak_kb = strtol(line + 6, NULL, 10);
    }
    fclose(status_file);
  }
  printf("%s n=%zu median_ns=%llu p10_ns=%llu p90_ns=%llu maxrss_kb=%llu parent_maxrss_kb=%ld"
         " output=%s\n",
         name, n, (unsigned long long)nanos[n / 2], (unsigned long long)nanos[n / 10],
         (unsigned long long)nanos[n * 9 / 10], (unsigned long long)rss[n / 2], own_peak_kb,
         output);
  return 0;
}
