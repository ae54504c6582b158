/*
 * The C floor for Glint's KVM benchmarks: the same guest work as the Java benchmarks, done with
 * plain ioctls and no abstraction, so that the Java figures can be reported as ratios to it.
 *
 *   kvm_floor exit0 N      N `out` exits from a 64-bit guest at CPL 0, one KVM_RUN each
 *   kvm_floor exit3 N      the same at CPL 3 (port allowed by the TSS I/O permission bitmap)
 *   kvm_floor lifecycle N  N times: create VM + 8 MiB mapping + vCPU (with the host's CPUID, as
 *                          the Java backend sets it) + run to HLT, then close
 *   kvm_floor kick3 N      N times: a CPL-3 guest spins without exits; another thread waits 5 ms,
 *                          then sets immediate_exit and signals the vCPU thread; measured from the
 *                          signal to KVM_RUN's return with EINTR (the floor of stopping a guest)
 *
 * Prints one line per measurement: "<name> n=<count> median_ns=<v> p10_ns=<v> p90_ns=<v>".
 * Built and run by dev.glint.benchmarks.KvmFloor; written for this project.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_BYTES (8ul << 20)
#define PML4 0x1000
#define PDPT 0x2000
#define PD 0x3000
#define GDT 0x4000
#define TSS 0x5000
#define TSS_BYTES (104 + 8192 + 1) /* header, I/O bitmap for 65536 ports, terminating 0xFF */
#define CODE 0x10000
#define STACK_TOP 0x20000
#define EXIT_PORT 0x10

static void die(const char *what) {
  fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
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

static void report(const char *name, uint64_t *samples, size_t n) {
  qsort(samples, n, sizeof *samples, compare_u64);
  printf("%s n=%zu median_ns=%llu p10_ns=%llu p90_ns=%llu\n", name, n,
         (unsigned long long)samples[n / 2], (unsigned long long)samples[n / 10],
         (unsigned long long)samples[n * 9 / 10]);
}

/* The CPUID the host supports, read once; every vCPU gets it, as the Java backend does (hardware
 * KVM needs a CPUID that reports long mode before a guest may enter it). */
static struct {
  struct kvm_cpuid2 header;
  struct kvm_cpuid_entry2 entries[256];
} supported_cpuid;

static void read_supported_cpuid(int kvm_fd) {
  supported_cpuid.header.nent = 256;
  if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &supported_cpuid) < 0) die("KVM_GET_SUPPORTED_CPUID");
}

struct vm {
  int vm_fd, vcpu_fd;
  uint8_t *memory;
  struct kvm_run *run;
  size_t run_bytes;
};

static void vm_create(int kvm_fd, struct vm *vm) {
  vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
  if (vm->vm_fd < 0) die("KVM_CREATE_VM");
  vm->memory = mmap(NULL, GUEST_BYTES, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (vm->memory == MAP_FAILED) die("mmap guest memory");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_BYTES,
      .userspace_addr = (uint64_t)(uintptr_t)vm->memory};
  if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
  vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
  if (vm->vcpu_fd < 0) die("KVM_CREATE_VCPU");
  int run_bytes = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_bytes < 0) die("KVM_GET_VCPU_MMAP_SIZE");
  vm->run_bytes = (size_t)run_bytes;
  vm->run = mmap(NULL, vm->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
  if (vm->run == MAP_FAILED) die("mmap kvm_run");
  if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &supported_cpuid) < 0) die("KVM_SET_CPUID2");
}

static void vm_close(struct vm *vm) {
  munmap(vm->run, vm->run_bytes);
  close(vm->vcpu_fd);
  close(vm->vm_fd);
  munmap(vm->memory, GUEST_BYTES);
}

static struct kvm_segment flat(uint16_t selector, uint8_t type, uint8_t dpl, int code) {
  struct kvm_segment s = {.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                          .present = 1, .dpl = dpl, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0,
                          .g = 1};
  return s;
}

/* Identity-maps the first 2 MiB with one user-accessible large page; GDT, TSS with I/O bitmap. */
static void write_long_mode_tables(uint8_t *m) {
  uint64_t *pml4 = (uint64_t *)(m + PML4), *pdpt = (uint64_t *)(m + PDPT), *pd = (uint64_t *)(m + PD);
  pml4[0] = PDPT | 0x7; /* present, writable, user */
  pdpt[0] = PD | 0x7;
  pd[0] = 0x0 | 0x87; /* 2 MiB page: present, writable, user, PS */
  uint64_t *gdt = (uint64_t *)(m + GDT);
  gdt[1] = 0x00AF9B000000FFFFull; /* 0x08 kernel code, 64-bit */
  gdt[2] = 0x00CF93000000FFFFull; /* 0x10 kernel data */
  gdt[3] = 0x00CFF3000000FFFFull; /* 0x18 user data, DPL 3 */
  gdt[4] = 0x00AFFB000000FFFFull; /* 0x20 user code, 64-bit, DPL 3 */
  uint64_t base = TSS, limit = TSS_BYTES - 1;
  gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56); /* 0x28 busy TSS */
  gdt[6] = base >> 32;
  uint8_t *tss = m + TSS;
  memset(tss, 0, TSS_BYTES);
  *(uint64_t *)(tss + 4) = STACK_TOP; /* RSP0 */
  *(uint16_t *)(tss + 102) = 104;      /* I/O map base */
  memset(tss + 104, 0xff, 8192 + 1);   /* every port denied ... */
  tss[104 + EXIT_PORT / 8] &= (uint8_t) ~(1u << (EXIT_PORT % 8)); /* ... but the exit port */
  /* loop: out %al, $0x10; jmp loop */
  static const uint8_t code[] = {0xE6, EXIT_PORT, 0xEB, 0xFC};
  memcpy(m + CODE, code, sizeof code);
}

static void enter_long_mode(struct vm *vm, int cpl) {
  struct kvm_sregs sregs;
  if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  struct kvm_segment code = cpl ? flat(0x23, 0xb, 3, 1) : flat(0x08, 0xb, 0, 1);
  struct kvm_segment data = cpl ? flat(0x1b, 0x3, 3, 0) : flat(0x10, 0x3, 0, 0);
  sregs.cs = code;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  struct kvm_segment tr = {.base = TSS, .limit = TSS_BYTES - 1, .selector = 0x28, .type = 0xb,
                           .present = 1};
  sregs.tr = tr;
  sregs.gdt.base = GDT;
  sregs.gdt.limit = 7 * 8 - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cr3 = PML4;
  sregs.cr4 = (1 << 5) | (1 << 9);                       /* PAE, OSFXSR */
  sregs.cr0 = 1u | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 31); /* PE MP ET NE PG */
  sregs.efer = (1 << 8) | (1 << 10);                       /* LME, LMA */
  if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = CODE, .rsp = STACK_TOP, .rflags = 2};
  if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
}

static void bench_exits(int kvm_fd, int cpl, size_t n) {
  struct vm vm;
  vm_create(kvm_fd, &vm);
  write_long_mode_tables(vm.memory);
  enter_long_mode(&vm, cpl);
  uint64_t *samples = malloc(n * sizeof *samples);
  for (size_t i = 0; i < n + n / 10; i++) { /* the first tenth warms up */
    uint64_t start = now_ns();
    if (ioctl(vm.vcpu_fd, KVM_RUN, 0) < 0) die("KVM_RUN");
    uint64_t end = now_ns();
    if (vm.run->exit_reason != KVM_EXIT_IO || vm.run->io.port != EXIT_PORT) {
      fprintf(stderr, "kvm_floor: unexpected exit %u\n", vm.run->exit_reason);
      exit(3);
    }
    if (i >= n / 10) samples[i - n / 10] = end - start;
  }
  report(cpl ? "exit_cpl3" : "exit_cpl0", samples, n);
  free(samples);
  vm_close(&vm);
}

static void bench_lifecycle(int kvm_fd, size_t n) {
  uint64_t *create = malloc(n * sizeof *create), *destroy = malloc(n * sizeof *destroy);
  for (size_t i = 0; i < n + n / 10; i++) {
    uint64_t start = now_ns();
    struct vm vm;
    vm_create(kvm_fd, &vm);
    vm.memory[0x1000] = 0xF4; /* hlt, in real mode at CS:IP = 0:0x1000 */
    struct kvm_sregs sregs;
    if (ioctl(vm.vcpu_fd, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vm.vcpu_fd, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vm.vcpu_fd, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
    if (ioctl(vm.vcpu_fd, KVM_RUN, 0) < 0) die("KVM_RUN");
    if (vm.run->exit_reason != KVM_EXIT_HLT) {
      fprintf(stderr, "kvm_floor: expected HLT, got exit %u\n", vm.run->exit_reason);
      exit(3);
    }
    uint64_t created = now_ns();
    vm_close(&vm);
    uint64_t closed = now_ns();
    if (i >= n / 10) {
      create[i - n / 10] = created - start;
      destroy[i - n / 10] = closed - created;
    }
  }
  report("create_to_hlt", create, n);
  report("close", destroy, n);
  free(create);
  free(destroy);
}

static struct {
  struct kvm_run *run;
  pthread_t vcpu_thread;
  sem_t go;
  volatile uint64_t kicked_at;
  size_t n;
} kick;

static void on_kick(int signal) { (void)signal; }

static void *kicker(void *unused) {
  (void)unused;
  for (size_t i = 0; i < kick.n + kick.n / 10; i++) {
    sem_wait(&kick.go);
    struct timespec pause = {0, 5000000};
    nanosleep(&pause, NULL);
    kick.kicked_at = now_ns();
    __atomic_store_n(&kick.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(kick.vcpu_thread, SIGUSR1);
  }
  return NULL;
}

static void bench_kick(int kvm_fd, size_t n) {
  struct vm vm;
  vm_create(kvm_fd, &vm);
  write_long_mode_tables(vm.memory);
  static const uint8_t spin[] = {0xEB, 0xFE}; /* jmp . */
  memcpy(vm.memory + CODE, spin, sizeof spin);
  enter_long_mode(&vm, 3);
  struct sigaction action = {.sa_handler = on_kick};
  sigaction(SIGUSR1, &action, NULL);
  kick.run = vm.run;
  kick.vcpu_thread = pthread_self();
  kick.n = n;
  sem_init(&kick.go, 0, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, kicker, NULL);
  uint64_t *samples = malloc(n * sizeof *samples);
  for (size_t i = 0; i < n + n / 10; i++) {
    __atomic_store_n(&vm.run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    sem_post(&kick.go);
    int result;
    do {
      result = ioctl(vm.vcpu_fd, KVM_RUN, 0);
    } while (result == 0); /* no exits are expected; go on if one comes */
    uint64_t end = now_ns();
    if (errno != EINTR) die("KVM_RUN");
    if (i >= n / 10) samples[i - n / 10] = end - kick.kicked_at;
  }
  pthread_join(thread, NULL);
  report("kick_cpl3", samples, n);
  free(samples);
  vm_close(&vm);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: kvm_floor exit0|exit3|lifecycle|kick3 COUNT\n");
    return 1;
  }
  size_t n = strtoul(argv[2], NULL, 10);
  if (n < 10) n = 10;
  int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm_fd < 0) die("open /dev/kvm");
  read_supported_cpuid(kvm_fd);
  if (!strcmp(argv[1], "exit0")) bench_exits(kvm_fd, 0, n);
  else if (!strcmp(argv[1], "exit3")) bench_exits(kvm_fd, 3, n);
  else if (!strcmp(argv[1], "lifecycle")) bench_lifecycle(kvm_fd, n);
  else if (!strcmp(argv[1], "kick3")) bench_kick(kvm_fd, n);
  else { fprintf(stderr, "kvm_floor: unknown mode %s\n", argv[1]); return 1; }
  close(kvm_fd);
  return 0;
}
