/*
 * run-guests.c - runs the sample guests end to end on /dev/kvm, at CPL 3 and at CPL 0, with a
 * minimal host written from docs/guest-abi.md: memory layout (1), descriptor page (2), ELF loading
 * (3), entry (4), privilege levels (5), fault stubs (6) and the call protocol (7).
 *
 * This is the guest side's own check that the SDK speaks the ABI on a real vCPU; the product's
 * host is the Java sandbox module. Decoding reuses the SDK's codec (compiled natively), whose own
 * byte-level tests are in test_wire.c; the function table is checked byte by byte here.
 *
 * Usage: run-guests DIR   (DIR holds hello.elf, echo.elf, compute.elf, faults.elf, badinit.elf,
 *                          state.elf)
 * Prints "N passed, N failed"; exits 0 when nothing failed, 77 when /dev/kvm cannot be opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"

int tests_passed, tests_failed;
void glint_abort(int32_t code, const char *fmt, ...) {
  fprintf(stderr, "glint_abort(%d) in the test host: %s\n", code, fmt);
  exit(2);
}

/* ---- layout (ABI 1), default sizes ---- */
#define MEM_SIZE (8u << 20)
#define GDT 0x1000u
#define TSS 0x1100u
#define IDT 0x2000u
#define STUBS 0x3000u
#define DESC 0x4000u
#define FAULT_STACK_TOP 0x8000u
#define PT_BASE 0x8000u
#define IMAGE_BASE 0x200000u
#define HEAP_SIZE (1u << 20)
#define BUF_SIZE ((1u << 20) + (64u << 10))
#define STACK_SIZE (256u << 10)

#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_NX (1ull << 63)

typedef struct vm {
  int kvm, fd, vcpu;
  struct kvm_run *run;
  uint8_t *mem;
  int cpl;
  uint64_t entry, heap, input, output, stack_top;
  uint64_t *pt; /* the 4 KiB page table entries, one per page of memory */
  /* What happened at the last stop. */
  char log[512];
  int logs;
  char printed[256];
} vm;

enum stop { STOP_RETURN, STOP_READY, STOP_FAULT, STOP_ABORT, STOP_HALT, STOP_SHUTDOWN,
            STOP_TIMEOUT, STOP_BAD_PORT, STOP_OTHER };
static const char *stop_names[] = {"RETURN", "READY", "FAULT", "ABORT", "HALT", "SHUTDOWN",
                                   "TIMEOUT", "BAD_PORT", "OTHER"};

typedef struct fault {
  uint64_t vector, error, rip, cs, rsp, cr2;
} fault;

static fault last_fault;
static int32_t last_abort_code;
static char last_abort_msg[256];
static uint16_t last_port;
static uint32_t last_exit_reason;

static void die(const char *what) {
  perror(what);
  exit(2);
}

/* ---- host functions of the test host ---- */

typedef struct host_fn {
  const char *name;
  glint_type ret;
  int nparams;
  glint_type params[2];
} host_fn;

static const host_fn host_fns[] = {
    {"HostPrint", GLINT_I32, 1, {GLINT_STRING}},
    {"HostEcho", GLINT_STRING, 1, {GLINT_STRING}},
    {"HostAdd1", GLINT_I32, 1, {GLINT_I32}},
};

/* Answers a host call (kind 3 in the output buffer) into the input buffer at `at` (ABI 7.4). */
static void answer_host_call(vm *v, size_t at) {
  glint_call call;
  const char *err = NULL;
  glint_writer w;
  glint_w_init(&w, v->mem + v->input + at, BUF_SIZE - at);
  if (!glint_wire_decode_call(v->mem + v->output, BUF_SIZE, GLINT_KIND_HOST_CALL, &call, &err)) {
    glint_wire_encode_error(&w, GLINT_KIND_HOST_RESULT, 2, "malformed host call", 19);
    return;
  }
  const host_fn *fn = NULL;
  for (size_t i = 0; i < sizeof host_fns / sizeof host_fns[0]; i++) {
    if (strlen(host_fns[i].name) == call.name_len &&
        memcmp(host_fns[i].name, call.name, call.name_len) == 0) {
      fn = &host_fns[i];
    }
  }
  if (!fn) {
    glint_wire_encode_error(&w, GLINT_KIND_HOST_RESULT, 1, "no such host function", 21);
    return;
  }
  bool types_ok = call.argc == fn->nparams;
  for (int i = 0; types_ok && i < call.argc; i++) types_ok = call.args[i].type == fn->params[i];
  if (!types_ok) {
    glint_wire_encode_error(&w, GLINT_KIND_HOST_RESULT, 2, "argument type mismatch", 22);
    return;
  }
  glint_value result;
  if (strcmp(fn->name, "HostPrint") == 0) {
    snprintf(v->printed, sizeof v->printed, "%.*s", (int)call.args[0].as.buf.len,
             (const char *)call.args[0].as.buf.ptr);
    result = glint_i32((int32_t)call.args[0].as.buf.len);
  } else if (strcmp(fn->name, "HostEcho") == 0) {
    result = call.args[0];
  } else {
    result = glint_i32(call.args[0].as.i32 + 1);
  }
  glint_wire_encode_ok(&w, GLINT_KIND_HOST_RESULT, &result);
}

/* ---- building the VM ---- */

static void map_range(vm *v, uint64_t start, uint64_t end, uint64_t flags) {
  for (uint64_t a = start & ~0xFFFull; a < end; a += 4096) v->pt[a >> 12] = a | flags;
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  struct stat st;
  fstat(fileno(f), &st);
  uint8_t *data = malloc(st.st_size);
  if (fread(data, 1, st.st_size, f) != (size_t)st.st_size) die("read");
  fclose(f);
  *size = st.st_size;
  return data;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, bool code) {
  memset(s, 0, sizeof *s);
  s->base = 0;
  s->limit = 0xFFFFFFFF;
  s->selector = sel;
  s->type = type;
  s->present = 1;
  s->dpl = dpl;
  s->s = 1;
  s->l = code;
  s->db = !code;
  s->g = 1;
}

static vm *vm_create(const char *elf_path, int cpl) {
  vm *v = calloc(1, sizeof *v);
  v->cpl = cpl;
  v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (v->kvm < 0) die("/dev/kvm");
  v->fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
  if (v->fd < 0) die("KVM_CREATE_VM");
  v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
  if (v->mem == MAP_FAILED) die("mmap");
  struct kvm_userspace_memory_region region = {0, 0, 0, MEM_SIZE, (uint64_t)v->mem};
  if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

  /* Image (ABI 3): our own ELFs, checked by check-elf.sh; copy each PT_LOAD. */
  size_t size;
  uint8_t *elf = read_file(elf_path, &size);
  uint64_t phoff, entry;
  uint16_t phnum;
  memcpy(&entry, elf + 24, 8);
  memcpy(&phoff, elf + 32, 8);
  memcpy(&phnum, elf + 56, 2);
  v->entry = entry;
  uint64_t image_end = IMAGE_BASE;
  /* Page tables: PML4, PDPT, PD, then 4 PTs covering 8 MiB with 4 KiB pages. */
  uint64_t *pml4 = (uint64_t *)(v->mem + PT_BASE);
  uint64_t *pdpt = (uint64_t *)(v->mem + PT_BASE + 0x1000);
  uint64_t *pd = (uint64_t *)(v->mem + PT_BASE + 0x2000);
  v->pt = (uint64_t *)(v->mem + PT_BASE + 0x3000);
  uint64_t upper = PTE_P | PTE_W | PTE_U | PTE_A;
  pml4[0] = (PT_BASE + 0x1000) | upper;
  pdpt[0] = (PT_BASE + 0x2000) | upper;
  for (int i = 0; i < 4; i++) pd[i] = (PT_BASE + 0x3000 + 0x1000 * i) | upper;

  for (int i = 0; i < phnum; i++) {
    const uint8_t *ph = elf + phoff + 56 * i;
    uint32_t type, flags;
    uint64_t off, vaddr, filesz, memsz;
    memcpy(&type, ph, 4);
    memcpy(&flags, ph + 4, 4);
    memcpy(&off, ph + 8, 8);
    memcpy(&vaddr, ph + 16, 8);
    memcpy(&filesz, ph + 32, 8);
    memcpy(&memsz, ph + 40, 8);
    if (type != 1) continue;
    memcpy(v->mem + vaddr, elf + off, filesz);
    uint64_t f = PTE_P | PTE_U | PTE_A | PTE_D;
    if (flags & 2) f |= PTE_W;
    if (!(flags & 1)) f |= PTE_NX;
    map_range(v, vaddr, vaddr + memsz, f);
    uint64_t end = (vaddr + memsz + 4095) & ~4095ull;
    if (end > image_end) image_end = end;
  }
  free(elf);
  v->heap = (image_end + (2u << 20) - 1) & ~(uint64_t)((2u << 20) - 1);
  v->input = v->heap + HEAP_SIZE;
  v->output = v->input + BUF_SIZE;
  v->stack_top = MEM_SIZE;
  uint64_t user_rw = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_NX;
  map_range(v, GDT, GDT + 0x3000, PTE_P | PTE_A | PTE_D); /* system, IDT, stubs: supervisor */
  map_range(v, DESC, DESC + 0x1000, PTE_P | PTE_U | PTE_A | PTE_NX);
  map_range(v, 0x5000, FAULT_STACK_TOP, PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX);
  map_range(v, PT_BASE, PT_BASE + 0x7000, PTE_P | PTE_A | PTE_D | PTE_NX);
  map_range(v, v->heap, v->heap + HEAP_SIZE, user_rw);
  map_range(v, v->input, v->input + BUF_SIZE, PTE_P | PTE_U | PTE_A | PTE_D | PTE_NX);
  map_range(v, v->output, v->output + BUF_SIZE, user_rw);
  map_range(v, MEM_SIZE - STACK_SIZE, MEM_SIZE, user_rw); /* the page below stays unmapped */

  /* GDT: null, kernel code 0x08, kernel data 0x10, user data 0x18, user code 0x20, TSS 0x28. */
  uint64_t *gdt = (uint64_t *)(v->mem + GDT);
  gdt[1] = 0x00AF9A000000FFFFull;
  gdt[2] = 0x00CF92000000FFFFull;
  gdt[3] = 0x00CFF2000000FFFFull;
  gdt[4] = 0x00AFFA000000FFFFull;
  uint32_t tss_limit = 0x68 + 0x23 - 1;
  gdt[5] = (tss_limit & 0xFFFF) | ((uint64_t)(TSS & 0xFFFFFF) << 16) | (0x8Bull << 40) |
           ((uint64_t)(TSS >> 24) << 56);
  gdt[6] = 0;
  /* TSS: RSP0 and IST1 = fault stack top; I/O bitmap at 0x68 allowing ports 0x100-0x10F only. */
  uint8_t *tss = v->mem + TSS;
  uint64_t top = FAULT_STACK_TOP;
  memcpy(tss + 4, &top, 8);
  memcpy(tss + 0x24, &top, 8);
  uint16_t iomap = 0x68;
  memcpy(tss + 0x66, &iomap, 2);
  memset(tss + 0x68, 0xFF, 0x23);
  tss[0x68 + 0x20] = 0;
  tss[0x68 + 0x21] = 0;

  /* Fault stubs (ABI 6), RDX holds the port, so CS goes to R8 here. */
  uint8_t *stubs = v->mem + STUBS;
  const uint32_t common = 32 * 16;
  for (int vec = 0; vec < 32; vec++) {
    uint8_t *s = stubs + vec * 16;
    int at = 0;
    bool has_error = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 ||
                     vec == 29 || vec == 30;
    if (!has_error) s[at++] = 0x6A, s[at++] = 0;  /* push 0 */
    s[at++] = 0x6A, s[at++] = (uint8_t)vec;        /* push vector */
    int32_t rel = (int32_t)(common - (vec * 16 + at + 5));
    s[at++] = 0xE9;
    memcpy(s + at, &rel, 4);
    uint64_t gate_lo = ((STUBS + vec * 16) & 0xFFFF) | (0x08ull << 16) | (1ull << 32) /* IST1 */ |
                       (0x8Eull << 40) | ((uint64_t)(((STUBS + vec * 16) >> 16) & 0xFFFF) << 48);
    memcpy(v->mem + IDT + vec * 16, &gate_lo, 8);
  }
  static const uint8_t tail[] = {
      0x58,                         /* pop rax: vector */
      0x5B,                         /* pop rbx: error code */
      0x48, 0x8B, 0x0C, 0x24,       /* mov rcx, [rsp]: rip */
      0x4C, 0x8B, 0x44, 0x24, 0x08, /* mov r8, [rsp+8]: cs */
      0x48, 0x8B, 0x74, 0x24, 0x18, /* mov rsi, [rsp+24]: rsp */
      0x0F, 0x20, 0xD7,             /* mov rdi, cr2 */
      0xBA, 0x05, 0x01, 0x00, 0x00, /* mov edx, 0x105 */
      0xEE,                         /* out dx, al */
      0xF4,                         /* hlt */
      0xEB, 0xFC,                   /* jmp back to out */
  };
  memcpy(stubs + common, tail, sizeof tail);

  /* Descriptor page (ABI 2). */
  glint_descriptor d = {0x544E4C47u, 1, 0, MEM_SIZE, v->input, BUF_SIZE, v->output, BUF_SIZE,
                        v->heap, HEAP_SIZE, MEM_SIZE, STACK_SIZE, (uint32_t)cpl, 0};
  memcpy(v->mem + DESC, &d, sizeof d);

  v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
  if (v->vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
  if (v->run == MAP_FAILED) die("mmap kvm_run");

  struct kvm_sregs sr;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &sr) < 0) die("KVM_GET_SREGS");
  sr.cr0 = 0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000u;
  sr.cr3 = PT_BASE;
  sr.cr4 = 0x20 | 0x200 | 0x400;
  sr.efer = 0x1 | 0x100 | 0x400 | 0x800;
  sr.gdt.base = GDT;
  sr.gdt.limit = 56 - 1;
  sr.idt.base = IDT;
  sr.idt.limit = 32 * 16 - 1;
  struct kvm_segment code, data;
  if (cpl == 3) {
    set_seg(&code, 0x23, 11, 3, true);
    set_seg(&data, 0x1B, 3, 3, false);
  } else {
    set_seg(&code, 0x08, 11, 0, true);
    set_seg(&data, 0x10, 3, 0, false);
  }
  sr.cs = code;
  sr.ss = sr.ds = sr.es = sr.fs = sr.gs = data;
  memset(&sr.tr, 0, sizeof sr.tr);
  sr.tr.base = TSS;
  sr.tr.limit = tss_limit;
  sr.tr.selector = 0x28;
  sr.tr.type = 11;
  sr.tr.present = 1;
  memset(&sr.ldt, 0, sizeof sr.ldt);
  sr.ldt.unusable = 1;
  sr.ldt.type = 2;
  if (ioctl(v->vcpu, KVM_SET_SREGS, &sr) < 0) die("KVM_SET_SREGS");
  struct kvm_regs r;
  memset(&r, 0, sizeof r);
  r.rip = v->entry;
  r.rsp = MEM_SIZE;
  r.rdi = DESC;
  r.rflags = 2;
  if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0) die("KVM_SET_REGS");
  return v;
}

static void vm_destroy(vm *v) {
  close(v->vcpu);
  close(v->fd);
  close(v->kvm);
  munmap(v->mem, MEM_SIZE);
  free(v);
}

static volatile sig_atomic_t timed_out;
static struct kvm_run *running;
static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (running) running->immediate_exit = 1;
}

static enum stop run_until_stop(vm *v, int timeout_ms) {
  struct itimerval it = {{0, 0}, {timeout_ms / 1000, (timeout_ms % 1000) * 1000}};
  timed_out = 0;
  running = v->run;
  setitimer(ITIMER_REAL, &it, NULL);
  enum stop result;
  for (;;) {
    if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR && timed_out) {
        result = STOP_TIMEOUT;
        break;
      }
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    struct kvm_run *run = v->run;
    last_exit_reason = run->exit_reason;
    if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
      last_port = run->io.port;
      switch (run->io.port) {
        case 0x100: result = STOP_READY; goto done;
        case 0x101: result = STOP_RETURN; goto done;
        case 0x102: {
          glint_call current;
          const char *err;
          size_t end = 0;
          if (glint_wire_decode_call(v->mem + v->input, BUF_SIZE, GLINT_KIND_CALL, &current, &err)) {
            end = current.record_size;
          }
          answer_host_call(v, (end + 7) & ~(size_t)7);
          continue;
        }
        case 0x103: {
          glint_reader r;
          size_t size;
          const char *err;
          if (glint_wire_open(v->mem + v->output, BUF_SIZE, GLINT_KIND_LOG, &r, &size, &err)) {
            uint8_t level = glint_r_u8(&r);
            uint32_t n = glint_r_u32(&r);
            const uint8_t *p = glint_r_raw(&r, n);
            if (glint_r_done(&r) && glint_utf8_valid(p, n)) {
              snprintf(v->log, sizeof v->log, "%u:%.*s", level, (int)n, (const char *)p);
              v->logs++;
            }
          }
          continue;
        }
        case 0x104: {
          glint_reader r;
          size_t size;
          const char *err;
          last_abort_code = 0;
          last_abort_msg[0] = 0;
          if (glint_wire_open(v->mem + v->output, BUF_SIZE, GLINT_KIND_ABORT, &r, &size, &err)) {
            last_abort_code = (int32_t)glint_r_u32(&r);
            uint32_t n = glint_r_u32(&r);
            const uint8_t *p = glint_r_raw(&r, n);
            if (glint_r_done(&r)) {
              snprintf(last_abort_msg, sizeof last_abort_msg, "%.*s", (int)n, (const char *)p);
            }
          }
          result = STOP_ABORT;
          goto done;
        }
        case 0x105: {
          struct kvm_regs r;
          ioctl(v->vcpu, KVM_GET_REGS, &r);
          last_fault = (fault){r.rax, r.rbx, r.rcx, r.r8, r.rsi, r.rdi};
          result = STOP_FAULT;
          goto done;
        }
        default: result = STOP_BAD_PORT; goto done;
      }
    }
    if (run->exit_reason == KVM_EXIT_HLT) {
      result = STOP_HALT;
      break;
    }
    if (run->exit_reason == KVM_EXIT_SHUTDOWN) {
      result = STOP_SHUTDOWN;
      break;
    }
    result = STOP_OTHER;
    {
      struct kvm_regs r;
      ioctl(v->vcpu, KVM_GET_REGS, &r);
      last_fault = (fault){0, 0, r.rip, 0, r.rsp, 0};
      if (getenv("RUN_GUESTS_VERBOSE")) {
        fprintf(stderr, "exit %u at rip 0x%llx:", run->exit_reason, r.rip);
        for (int i = 0; i < 8 && r.rip + i < MEM_SIZE; i++) fprintf(stderr, " %02x", v->mem[r.rip + i]);
        fprintf(stderr, "\n");
      }
    }
    break;
  }
done:;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  running = NULL;
  v->run->immediate_exit = 0;
  return result;
}

/* Starts a guest and runs it to READY; returns NULL (and counts a failure) otherwise. */
static vm *start(const char *dir, const char *name, int cpl) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.elf", dir, name);
  vm *v = vm_create(path, cpl);
  enum stop s = run_until_stop(v, 20000);
  CHECK(s == STOP_READY, "%s at CPL %d: READY expected, got %s (exit %u, port 0x%x, vector %lu "
        "rip 0x%lx cr2 0x%lx, abort %d %s)", name, cpl, stop_names[s], last_exit_reason,
        last_port, (unsigned long)last_fault.vector, (unsigned long)last_fault.rip,
        (unsigned long)last_fault.cr2, last_abort_code, last_abort_msg);
  if (s != STOP_READY) {
    vm_destroy(v);
    return NULL;
  }
  return v;
}

/* Writes a call record and resumes the guest; decodes the return record on RETURN. */
static enum stop call(vm *v, const char *name, int argc, const glint_value *args, glint_outcome *o,
                      int timeout_ms) {
  glint_writer w;
  glint_w_init(&w, v->mem + v->input, BUF_SIZE);
  if (!glint_wire_encode_call(&w, GLINT_KIND_CALL, name, strlen(name), argc, args)) {
    fprintf(stderr, "call %s does not encode\n", name);
    exit(2);
  }
  enum stop s = run_until_stop(v, timeout_ms);
  if (s == STOP_RETURN && o) {
    const char *err = NULL;
    if (!glint_wire_decode_outcome(v->mem + v->output, BUF_SIZE, GLINT_KIND_RETURN, o, &err)) {
      o->status = 99;
      o->message = err;
      o->message_len = (uint32_t)strlen(err);
    }
  }
  return s;
}

#define CALL_OK(v, name, argc, args, o)                                                     \
  do {                                                                                      \
    enum stop s_ = call(v, name, argc, args, o, 20000);                                     \
    CHECK(s_ == STOP_RETURN && (o)->status == 0, "%s at CPL %d: %s, status %d: %.*s", name, \
          (v)->cpl, stop_names[s_], (o)->status, (int)(o)->message_len,                     \
          (o)->message ? (o)->message : "");                                                \
  } while (0)

static void check_table(vm *v) {
  /* hello's table, byte by byte: count 1; "PrintOutput"; ret i32; 1 parameter: string. */
  static const uint8_t want[] = {0x47, 0x4C, 1, 7, 18, 0, 0, 0, 1, 0, 11, 0, 'P', 'r', 'i', 'n',
                                 't', 'O', 'u', 't', 'p', 'u', 't', 1, 1, 8};
  CHECK(memcmp(v->mem + v->output, want, sizeof want) == 0, "hello's function table bytes");
}

static void test_hello(const char *dir, int cpl) {
  vm *v = start(dir, "hello", cpl);
  if (!v) return;
  check_table(v);
  glint_outcome o;
  glint_value arg = glint_string("hello, world");
  for (int i = 0; i < 3; i++) { /* the loop must keep serving calls */
    v->printed[0] = 0;
    CALL_OK(v, "PrintOutput", 1, &arg, &o);
    CHECK(o.value.type == GLINT_I32 && o.value.as.i32 == 12, "PrintOutput returned HostPrint's 12");
    CHECK(strcmp(v->printed, "hello, world") == 0, "HostPrint saw '%s'", v->printed);
  }
  enum stop s = call(v, "NoSuchFunction", 0, NULL, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && o.code == 1, "unknown function: status 1 code 1 (%d %d)",
        o.status, o.code);
  glint_value wrong = glint_i32(5);
  s = call(v, "PrintOutput", 1, &wrong, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && o.code == 2, "wrong argument type: code 2 (%d %d)",
        o.status, o.code);
  s = call(v, "PrintOutput", 0, NULL, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && o.code == 2, "missing argument: code 2");
  /* Garbage call record: the guest answers with an error instead of crashing. */
  memset(v->mem + v->input, 0xAB, 64);
  s = run_until_stop(v, 20000);
  const char *err;
  CHECK(s == STOP_RETURN &&
            glint_wire_decode_outcome(v->mem + v->output, BUF_SIZE, GLINT_KIND_RETURN, &o, &err) &&
            o.status == 1 && o.code == 2,
        "garbage call record: code 2");
  CALL_OK(v, "PrintOutput", 1, &arg, &o);
  vm_destroy(v);
}

static bool is_string(const glint_outcome *o, const char *s) {
  return o->status == 0 && o->value.type == GLINT_STRING && o->value.as.buf.len == strlen(s) &&
         memcmp(o->value.as.buf.ptr, s, strlen(s)) == 0;
}

static void test_echo(const char *dir, int cpl) {
  vm *v = start(dir, "echo", cpl);
  if (!v) return;
  glint_outcome o;
  static const uint8_t blob[] = {0, 0xFF, 0x80, 7};
  struct {
    const char *fn;
    glint_value v;
  } cases[] = {
      {"EchoI32", glint_i32(INT32_MIN)},
      {"EchoU32", glint_u32(0xFEDCBA98u)},
      {"EchoI64", glint_i64(-1234567890123456789ll)},
      {"EchoU64", glint_u64(UINT64_MAX)},
      {"EchoF32", {GLINT_F32, {.f32_bits = 0x7FA00001u}}}, /* signalling NaN with payload */
      {"EchoF64", {GLINT_F64, {.f64_bits = 0x7FF0000000000ABCull}}},
      {"EchoBool", glint_bool(true)},
      {"EchoBool", glint_bool(false)},
      {"EchoString", glint_string("gr\xc3\xbc\xc3\x9f dich \xf0\x9f\x91\x8b")},
      {"EchoString", glint_stringn("", 0)},
      {"EchoBytes", glint_bytes(blob, sizeof blob)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CALL_OK(v, cases[i].fn, 1, &cases[i].v, &o);
    bool same = o.value.type == cases[i].v.type;
    if (same && (o.value.type == GLINT_STRING || o.value.type == GLINT_BYTES)) {
      same = o.value.as.buf.len == cases[i].v.as.buf.len &&
             memcmp(o.value.as.buf.ptr, cases[i].v.as.buf.ptr, o.value.as.buf.len) == 0;
    } else if (same && o.value.type == GLINT_BOOL) {
      same = o.value.as.b == cases[i].v.as.b;
    } else if (same && (o.value.type == GLINT_I32 || o.value.type == GLINT_U32 ||
                        o.value.type == GLINT_F32)) {
      same = o.value.as.u32 == cases[i].v.as.u32;
    } else if (same) {
      same = o.value.as.u64 == cases[i].v.as.u64;
    }
    CHECK(same, "%s at CPL %d returns its argument unchanged", cases[i].fn, cpl);
  }
  CALL_OK(v, "EchoVoid", 0, NULL, &o);
  CHECK(o.value.type == GLINT_VOID, "EchoVoid returns void");

  glint_value concat[] = {glint_string("a"), glint_i32(-7), glint_bool(true), glint_f64(2.5)};
  enum stop s = call(v, "Concat", 4, concat, &o, 60000);
  CHECK(s == STOP_RETURN && is_string(&o, "a|-7|true|2.500"),
        "Concat at CPL %d: %s status %d '%.*s' (exit %u vector %lu rip 0x%lx)", cpl,
        stop_names[s], o.status, (int)o.value.as.buf.len, (const char *)o.value.as.buf.ptr,
        last_exit_reason, (unsigned long)last_fault.vector, (unsigned long)last_fault.rip);
  if (s != STOP_RETURN) { /* an emulator failure poisons this VM; go on with a fresh one */
    vm_destroy(v);
    if (!(v = start(dir, "echo", cpl))) return;
  }

  glint_value sixteen[16];
  for (int i = 0; i < 16; i++) sixteen[i] = glint_i64(i * 1000000000000ll);
  CALL_OK(v, "Sum16", 16, sixteen, &o);
  CHECK(o.value.as.i64 == 120000000000000ll, "Sum16");

  glint_value host_args[] = {glint_string("HostAdd1"), glint_i32(41)};
  CALL_OK(v, "CallHost", 2, host_args, &o);
  CHECK(o.value.as.i32 == 42, "CallHost(HostAdd1, 41) = %d", o.value.as.i32);
  glint_value missing[] = {glint_string("Missing"), glint_i32(1)};
  s = call(v, "CallHost", 2, missing, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && o.code == 3 && o.message_len > 0 &&
            memmem(o.message, o.message_len, "failed (1): no such host function", 33),
        "CallHost(Missing): error carries the host's code 1 and message: '%.*s'",
        (int)o.message_len, o.message ? o.message : "");
  glint_value wrong_ret[] = {glint_string("HostEcho"), glint_i32(1)};
  s = call(v, "CallHost", 2, wrong_ret, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && memmem(o.message, o.message_len, "(2)", 3),
        "CallHost(HostEcho, i32): host refuses the argument type: '%.*s'", (int)o.message_len,
        o.message ? o.message : "");
  CALL_OK(v, "CallHostWrongTypes", 0, NULL, &o);
  CHECK(o.value.as.i32 == -2, "CallHostWrongTypes = %d", o.value.as.i32);
  glint_value text = glint_string("round trip");
  CALL_OK(v, "HostEcho", 1, &text, &o);
  CHECK(is_string(&o, "round trip"), "HostEcho");

  glint_value log_args[] = {glint_i32(2), glint_string("careful")};
  v->logs = 0;
  CALL_OK(v, "Log", 2, log_args, &o);
  CHECK(v->logs == 1 && strcmp(v->log, "2:careful") == 0, "Log: '%s'", v->log);
  glint_value keep = glint_string("keep me");
  CALL_OK(v, "ResultThenLog", 1, &keep, &o);
  CHECK(is_string(&o, "keep me") && strcmp(v->log, "3:after result") == 0,
        "ResultThenLog: the result survives a log");
  glint_value fail_args[] = {glint_i32(123), glint_string("it broke")};
  s = call(v, "Fail", 2, fail_args, &o, 20000);
  CHECK(s == STOP_RETURN && o.status == 1 && o.code == 123 && o.message_len == 8 &&
            memcmp(o.message, "it broke", 8) == 0,
        "Fail(123, 'it broke')");

  if (cpl == 3) { /* big values: slow under emulation */
    uint32_t n = 1u << 20;
    uint8_t *big = malloc(n);
    for (uint32_t i = 0; i < n; i++) big[i] = (uint8_t)(i ^ (i >> 8));
    glint_value bv = glint_bytes(big, n);
    CALL_OK(v, "EchoBytes", 1, &bv, &o);
    CHECK(o.value.type == GLINT_BYTES && o.value.as.buf.len == n &&
              memcmp(o.value.as.buf.ptr, big, n) == 0,
          "EchoBytes of 1 MiB");
    free(big);
  }
  vm_destroy(v);
}

static void test_compute(const char *dir, int cpl) {
  vm *v = start(dir, "compute", cpl);
  if (!v) return;
  glint_outcome o;
  glint_value abc = glint_bytes("abc", 3);
  CALL_OK(v, "Sha256", 1, &abc, &o);
  static const uint8_t abc_digest[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                       0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                       0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                       0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  CHECK(o.value.type == GLINT_BYTES && o.value.as.buf.len == 32 &&
            memcmp(o.value.as.buf.ptr, abc_digest, 32) == 0,
        "Sha256(abc) at CPL %d", cpl);
  glint_value sum_arg = glint_bytes("\x01\x02\xff", 3);
  CALL_OK(v, "SumBytes", 1, &sum_arg, &o);
  CHECK(o.value.type == GLINT_U64 && o.value.as.u64 == 258, "SumBytes = %lu",
        (unsigned long)o.value.as.u64);
  glint_value add_args[] = {glint_i32(INT32_MAX), glint_i32(1)};
  CALL_OK(v, "Add", 2, add_args, &o);
  CHECK(o.value.as.i32 == INT32_MIN, "Add wraps");
  CALL_OK(v, "Noop", 0, NULL, &o);
  if (cpl == 3) {
    uint32_t n = 512u << 10;
    uint8_t *data = malloc(n), want[32];
    for (uint32_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 31 + 7);
    glint_sha256(data, n, want);
    free(data);
    glint_value len = glint_u32(n);
    CALL_OK(v, "Sha256Pattern", 1, &len, &o);
    CHECK(o.value.as.buf.len == 32 && memcmp(o.value.as.buf.ptr, want, 32) == 0,
          "Sha256Pattern(512 KiB) matches the native digest");
    len = glint_u32(1u << 20);
    enum stop s = call(v, "Sha256Pattern", 1, &len, &o, 20000);
    CHECK(s == STOP_RETURN && o.status == 1 && o.code == 3,
          "Sha256Pattern(1 MiB) does not fit the 1 MiB heap: error 3");
    len = glint_u32(512u << 10);
    CALL_OK(v, "Sha256Pattern", 1, &len, &o); /* the failed malloc left the heap usable */
  }
  vm_destroy(v);
}

typedef struct fault_case {
  const char *fn;
  enum stop stop3, stop0; /* expected at CPL 3 and at CPL 0 */
  int vector3, vector0;   /* for STOP_FAULT */
} fault_case;

static void test_faults(const char *dir, int cpl) {
  static const fault_case cases[] = {
      {"NullDeref", STOP_FAULT, STOP_FAULT, 14, 14},
      {"WriteNull", STOP_FAULT, STOP_FAULT, 14, 14},
      {"DivideByZero", STOP_FAULT, STOP_FAULT, 0, 0},
      {"InvalidOpcode", STOP_FAULT, STOP_FAULT, 6, 6},
      /* int3 through a DPL-0 gate: #GP at CPL 3 on hardware (PVM: #BP). At CPL 0 on PVM, KVM's
       * emulator fails on int3 (internal error, "OTHER"); on hardware it is #BP. */
      {"Breakpoint", STOP_FAULT, STOP_FAULT, 13, 3},
      {"StackOverflow", STOP_FAULT, STOP_FAULT, 14, 14},
      {"WriteCode", STOP_FAULT, STOP_FAULT, 14, 14},
      {"ExecuteData", STOP_FAULT, STOP_FAULT, 14, 14},
      {"WriteInput", STOP_FAULT, STOP_FAULT, 14, 14},
      {"Privileged", STOP_FAULT, STOP_HALT, 13, 0},
      {"ForbiddenPort", STOP_FAULT, STOP_BAD_PORT, 13, 0},
      {"GarbageOutput", STOP_RETURN, STOP_RETURN, 0, 0},
      {"OversizedRecord", STOP_RETURN, STOP_RETURN, 0, 0},
      {"Abort", STOP_ABORT, STOP_ABORT, 0, 0},
      {"InfiniteLoop", STOP_TIMEOUT, STOP_TIMEOUT, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const fault_case *c = &cases[i];
    vm *v = start(dir, "faults", cpl);
    if (!v) return;
    glint_outcome o = {0};
    enum stop want = cpl == 3 ? c->stop3 : c->stop0;
    int vector = cpl == 3 ? c->vector3 : c->vector0;
    last_fault = (fault){0};
    enum stop s = call(v, c->fn, 0, NULL, &o, want == STOP_TIMEOUT ? 300 : 30000);
    bool pvm_emulator_int3 = cpl == 0 && strcmp(c->fn, "Breakpoint") == 0 && s == STOP_OTHER &&
                             last_exit_reason == KVM_EXIT_INTERNAL_ERROR;
    CHECK(s == want || pvm_emulator_int3, "%s at CPL %d: %s expected, got %s (vector %lu, exit %u)", c->fn, cpl,
          stop_names[want], stop_names[s], (unsigned long)last_fault.vector, last_exit_reason);
    if (s == STOP_FAULT && want == STOP_FAULT) {
      /* int3 at CPL 3 through a DPL-0 gate is #GP(13) on hardware; PVM delivers #BP (3). */
      bool pvm_int3 = cpl == 3 && strcmp(c->fn, "Breakpoint") == 0 && last_fault.vector == 3;
      CHECK(last_fault.vector == (uint64_t)vector || pvm_int3, "%s at CPL %d: vector %lu, want %d",
            c->fn, cpl, (unsigned long)last_fault.vector, vector);
      CHECK((last_fault.cs & 3) == (uint64_t)cpl, "%s: faulting CS 0x%lx has CPL %d", c->fn,
            (unsigned long)last_fault.cs, cpl);
      CHECK((last_fault.rip >= IMAGE_BASE && last_fault.rip < IMAGE_BASE + (1u << 20)) ||
                strcmp(c->fn, "ExecuteData") == 0,
            "%s: RIP 0x%lx inside the image", c->fn, (unsigned long)last_fault.rip);
      if (strcmp(c->fn, "NullDeref") == 0) CHECK(last_fault.cr2 == 0, "NullDeref: CR2 0");
      if (strcmp(c->fn, "WriteNull") == 0) CHECK(last_fault.cr2 == 8, "WriteNull: CR2 8");
      if (strcmp(c->fn, "StackOverflow") == 0) {
        CHECK(last_fault.cr2 >= MEM_SIZE - STACK_SIZE - 4096 && last_fault.cr2 < MEM_SIZE - STACK_SIZE,
              "StackOverflow: CR2 0x%lx in the guard page", (unsigned long)last_fault.cr2);
      }
    }
    if (s == STOP_RETURN && want == STOP_RETURN) {
      const char *err = NULL;
      CHECK(!glint_wire_decode_outcome(v->mem + v->output, BUF_SIZE, GLINT_KIND_RETURN, &o, &err),
            "%s: the host must reject the record", c->fn);
    }
    if (s == STOP_ABORT) {
      CHECK(last_abort_code == 42 && strcmp(last_abort_msg, "abort requested by the faults guest") == 0,
            "Abort: code %d message '%s'", last_abort_code, last_abort_msg);
    }
    vm_destroy(v);
  }
  vm *v = start(dir, "faults", cpl);
  if (!v) return;
  glint_outcome o;
  CALL_OK(v, "CallUnregisteredHost", 0, NULL, &o);
  CHECK(o.value.as.i32 == 1, "CallUnregisteredHost got code %d", o.value.as.i32);
  vm_destroy(v);
}

static void test_badinit(const char *dir, int cpl) {
  char path[512];
  snprintf(path, sizeof path, "%s/badinit.elf", dir);
  vm *v = vm_create(path, cpl);
  v->logs = 0;
  enum stop s = run_until_stop(v, 20000);
  CHECK(s == STOP_ABORT && last_abort_code == -2 &&
            strcmp(last_abort_msg, "glint_register(Twice): name registered twice") == 0,
        "badinit at CPL %d: %s, abort %d '%s'", cpl, stop_names[s], last_abort_code,
        last_abort_msg);
  CHECK(v->logs == 1 && strcmp(v->log, "3:registering Twice twice") == 0,
        "badinit logged during initialization: '%s'", v->log);
  vm_destroy(v);
}

/* ---- state: counter, heap, dirty pages, long and endless calls ---- */

static bool is_error(const glint_outcome *o, uint16_t code, const char *message) {
  return o->status == 1 && o->code == code && o->message_len == strlen(message) &&
         memcmp(o->message, message, o->message_len) == 0;
}

/* Calls a state function that takes one argument and returns i64 or i32; checks the call returned
 * successfully and gives the value, or INT64_MIN after a failed check. */
static int64_t call_value(vm *v, const char *name, const glint_value *arg) {
  glint_outcome o;
  CALL_OK(v, name, arg ? 1 : 0, arg, &o);
  if (o.status != 0) return INT64_MIN;
  return o.value.type == GLINT_I32 ? o.value.as.i32 : o.value.as.i64;
}

/* Turns on KVM's dirty page log for the VM's memory (flags-only change of slot 0). */
static void enable_dirty_log(vm *v) {
  struct kvm_userspace_memory_region region = {0, KVM_MEM_LOG_DIRTY_PAGES, 0, MEM_SIZE,
                                               (uint64_t)v->mem};
  if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_MEM_LOG_DIRTY_PAGES");
}

/* Fetches and clears the dirty log: one bit per 4 KiB page of guest memory. */
static void dirty_log(vm *v, uint64_t bitmap[MEM_SIZE / 4096 / 64]) {
  struct kvm_dirty_log log;
  memset(&log, 0, sizeof log);
  memset(bitmap, 0, MEM_SIZE / 4096 / 8);
  log.slot = 0;
  log.dirty_bitmap = bitmap;
  if (ioctl(v->fd, KVM_GET_DIRTY_LOG, &log) < 0) die("KVM_GET_DIRTY_LOG");
}

static uint64_t xorshift_rounds(uint64_t x, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

static void test_state(const char *dir, int cpl) {
  vm *v = start(dir, "state", cpl);
  if (!v) return;
  glint_outcome o;
  enum stop s;

  /* Counter in .bss. */
  CHECK(call_value(v, "Counter", NULL) == 0, "state at CPL %d: Counter starts at 0", cpl);
  CHECK(call_value(v, "Increment", NULL) == 1, "first Increment returns 1");
  CHECK(call_value(v, "Increment", NULL) == 2, "second Increment returns 2");
  CHECK(call_value(v, "Counter", NULL) == 2, "Counter is 2 after two Increments");

  /* Heap. */
  CHECK(call_value(v, "Allocated", NULL) == 0, "Allocated starts at 0");
  glint_value bytes = glint_i32(1000);
  CHECK(call_value(v, "Allocate", &bytes) == 1000, "Allocate(1000) returns 1000");
  static uint8_t fill[1000];
  memset(fill, 0xA5, sizeof fill);
  CHECK(memmem(v->mem + v->heap, HEAP_SIZE, fill, sizeof fill) != NULL,
        "Allocate(1000) filled a block of the heap with 0xA5");
  bytes = glint_i32(24);
  CHECK(call_value(v, "Allocate", &bytes) == 1024, "Allocate(24) accumulates to 1024");
  CHECK(call_value(v, "Allocated", NULL) == 1024, "Allocated is 1024");
  bytes = glint_i32((int32_t)HEAP_SIZE);
  s = call(v, "Allocate", 1, &bytes, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "Allocate(1048576): out of heap after 1024 bytes"),
        "Allocate(heap size) after 1024 bytes: error 3: %d '%.*s'", o.code, (int)o.message_len,
        o.message ? o.message : "");
  bytes = glint_i32(0);
  s = call(v, "Allocate", 1, &bytes, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "Allocate: bytes must be positive, got 0"),
        "Allocate(0): error 3: '%.*s'", (int)o.message_len, o.message ? o.message : "");
  bytes = glint_i32(-5);
  s = call(v, "Allocate", 1, &bytes, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "Allocate: bytes must be positive, got -5"),
        "Allocate(-5): error 3: '%.*s'", (int)o.message_len, o.message ? o.message : "");
  CHECK(call_value(v, "Allocated", NULL) == 1024, "failed Allocates leave the total at 1024");
  if (cpl == 3) { /* filling the whole heap: slow under emulation */
    int64_t total = 1024, got;
    bytes = glint_i32(64 << 10);
    int blocks = 0;
    for (;;) {
      s = call(v, "Allocate", 1, &bytes, &o, 20000);
      if (s != STOP_RETURN || o.status != 0) break;
      got = o.value.as.i64;
      total += 64 << 10;
      blocks++;
      if (got != total) break;
    }
    char want[128];
    snprintf(want, sizeof want, "Allocate(65536): out of heap after %lld bytes", (long long)total);
    CHECK(s == STOP_RETURN && is_error(&o, 3, want), "heap exhaustion: '%s' expected, got '%.*s'",
          want, (int)o.message_len, o.message ? o.message : "");
    CHECK(blocks >= 14 && total <= HEAP_SIZE, "%d blocks of 64 KiB fit the 1 MiB heap", blocks);
    CHECK(call_value(v, "Allocated", NULL) == total, "Allocated is the total after exhaustion");
    bytes = glint_i32(16);
    CHECK(call_value(v, "Allocate", &bytes) == total + 16, "small blocks still fit after that");
  }

  /* Pages: a call to TouchPages(n) dirties exactly n more pages than TouchPages(0). */
  glint_value n = glint_i32(0);
  CHECK(call_value(v, "TouchPages", &n) == 0, "TouchPages(0) returns 0");
  n = glint_i32(65);
  s = call(v, "TouchPages", 1, &n, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "TouchPages: n must be 0..64, got 65"),
        "TouchPages(65): error 3: '%.*s'", (int)o.message_len, o.message ? o.message : "");
  n = glint_i32(-1);
  s = call(v, "TouchPages", 1, &n, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "TouchPages: n must be 0..64, got -1"),
        "TouchPages(-1): error 3: '%.*s'", (int)o.message_len, o.message ? o.message : "");
  enable_dirty_log(v);
  static const int32_t counts[] = {1, 7, 64, 64, 3};
  int times[64] = {0};
  for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
    uint64_t before[MEM_SIZE / 4096 / 64], after[MEM_SIZE / 4096 / 64];
    n = glint_i32(0);
    dirty_log(v, before);
    call_value(v, "TouchPages", &n);
    dirty_log(v, before);
    n = glint_i32(counts[k]);
    CHECK(call_value(v, "TouchPages", &n) == counts[k], "TouchPages(%d) returns n", counts[k]);
    dirty_log(v, after);
    int extra = 0, first = -1, last = -1, missing = 0;
    for (int p = 0; p < (int)(MEM_SIZE / 4096); p++) {
      bool was = before[p / 64] >> (p % 64) & 1, is = after[p / 64] >> (p % 64) & 1;
      if (is && !was) {
        extra++;
        if (first < 0) first = p;
        last = p;
      } else if (was && !is) {
        missing++;
      }
    }
    CHECK(extra == counts[k] && missing == 0 && last - first + 1 == counts[k],
          "TouchPages(%d) at CPL %d dirties exactly %d consecutive pages more than TouchPages(0) "
          "(%d more, %d fewer, pages %d..%d)",
          counts[k], cpl, counts[k], extra, missing, first, last);
    bool counted = first >= 0;
    for (int i = 0; i < counts[k]; i++) times[i]++;
    for (int i = 0; counted && i < 64 && first + i < (int)(MEM_SIZE / 4096); i++) {
      counted = v->mem[(uint64_t)(first + i) * 4096] == times[i];
    }
    CHECK(counted, "the first byte of each page counts its touches");
  }

  /* Work: xorshift64 from the seed, computed here too. */
  const uint64_t seed = 0x9E3779B97F4A7C15ull;
  glint_value it = glint_i64(0);
  CHECK(call_value(v, "Work", &it) == (int64_t)seed, "Work(0) returns the seed");
  CHECK((int64_t)seed == -7046029254386353131ll, "the documented seed");
  it = glint_i64(1);
  CHECK(call_value(v, "Work", &it) == (int64_t)xorshift_rounds(seed, 1), "Work(1)");
  int64_t rounds = cpl == 3 ? 10000000 : 20000;
  it = glint_i64(rounds);
  int64_t first_run = call_value(v, "Work", &it);
  CHECK(first_run == (int64_t)xorshift_rounds(seed, rounds), "Work(%lld) matches xorshift64",
        (long long)rounds);
  CHECK(call_value(v, "Work", &it) == first_run, "Work(%lld) again gives the same",
        (long long)rounds);
  it = glint_i64(-1);
  s = call(v, "Work", 1, &it, &o, 20000);
  CHECK(s == STOP_RETURN && is_error(&o, 3, "Work: iterations must be >= 0, got -1"),
        "Work(-1): error 3: '%.*s'", (int)o.message_len, o.message ? o.message : "");
  CHECK(call_value(v, "Counter", NULL) == 2, "Counter is still 2 after the other functions");
  /* Endless calls: a long Work and Spin run until the host's timeout stops them. */
  it = glint_i64(INT64_MAX);
  s = call(v, "Work", 1, &it, &o, 300);
  CHECK(s == STOP_TIMEOUT, "Work(INT64_MAX) at CPL %d runs until the timeout: %s", cpl,
        stop_names[s]);
  vm_destroy(v);
  if (!(v = start(dir, "state", cpl))) return;
  s = call(v, "Spin", 0, NULL, &o, 300);
  CHECK(s == STOP_TIMEOUT, "Spin at CPL %d runs until the timeout: %s", cpl, stop_names[s]);
  vm_destroy(v);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* RUN_GUESTS_BENCH=1: medians of a few calls, for orientation only (not a benchmark harness). */
static void bench(const char *dir, int cpl) {
  vm *v = start(dir, "compute", cpl);
  if (!v) return;
  enum { N = 201 };
  static double t[N];
  glint_outcome o;
  for (int i = 0; i < N; i++) {
    double t0 = now_us();
    call(v, "Noop", 0, NULL, &o, 20000);
    t[i] = now_us() - t0;
  }
  qsort(t, N, sizeof t[0], compare_doubles);
  printf("CPL %d: Noop call median %.1f us\n", cpl, t[N / 2]);
  v = (vm_destroy(v), start(dir, "hello", cpl));
  glint_value arg = glint_string("x");
  for (int i = 0; i < N; i++) {
    double t0 = now_us();
    call(v, "PrintOutput", 1, &arg, &o, 20000);
    t[i] = now_us() - t0;
  }
  qsort(t, N, sizeof t[0], compare_doubles);
  printf("CPL %d: PrintOutput (one host call) median %.1f us\n", cpl, t[N / 2]);
  vm_destroy(v);
  if (cpl == 3) {
    v = start(dir, "compute", cpl);
    uint32_t n = 1u << 20;
    uint8_t *data = malloc(n);
    for (uint32_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 31 + 7);
    glint_value bytes = glint_bytes(data, n);
    for (int i = 0; i < 21; i++) {
      double t0 = now_us();
      call(v, "Sha256", 1, &bytes, &o, 20000);
      t[i] = now_us() - t0;
    }
    qsort(t, 21, sizeof t[0], compare_doubles);
    double t0 = now_us();
    uint8_t d[32];
    for (int i = 0; i < 21; i++) glint_sha256(data, n, d);
    printf("CPL 3: Sha256 of 1 MiB median %.0f us (including copying it in); native %.0f us\n",
           t[10], (now_us() - t0) / 21);
    free(data);
    vm_destroy(v);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s GUEST_DIR\n", argv[0]);
    return 2;
  }
  int probe = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (probe < 0) {
    printf("run-guests: /dev/kvm cannot be opened (%s): skipped\n", strerror(errno));
    return 77;
  }
  int probe_vm = ioctl(probe, KVM_CREATE_VM, 0);
  if (probe_vm < 0) {
    printf("run-guests: /dev/kvm opens but KVM_CREATE_VM fails (%s): skipped\n", strerror(errno));
    close(probe);
    return 77;
  }
  close(probe_vm);
  close(probe);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  const char *only = getenv("RUN_GUESTS_CPL");
  if (getenv("RUN_GUESTS_BENCH")) {
    bench(argv[1], 3);
    bench(argv[1], 0);
    return 0;
  }
  for (int cpl = 3; cpl >= 0; cpl -= 3) {
    if (only && atoi(only) != cpl) continue;
    test_hello(argv[1], cpl);
    test_echo(argv[1], cpl);
    test_compute(argv[1], cpl);
    test_faults(argv[1], cpl);
    test_badinit(argv[1], cpl);
    test_state(argv[1], cpl);
    printf("CPL %d done: %d passed, %d failed so far\n", cpl, tests_passed, tests_failed);
  }
  printf("%d passed, %d failed\n", tests_passed, tests_failed);
  return tests_failed ? 1 : 0;
}
