/*
 * An ABI double of Linux's /dev/mshv (6.15+ uapi) on top of KVM, for testing Glint's mshv backend
 * where no Microsoft Hypervisor exists. Load it with LD_PRELOAD, or name it in the system property
 * glint.hv.mshv.libc (the backend then resolves open/ioctl/mmap/close here; an LD_PRELOADed library
 * does not intercept FFM downcalls bound through the default lookup).
 *
 * It follows the documented ABI (mshv_abi.h and its sources), not Glint's backend:
 *  - open("/dev/mshv") opens /dev/kvm; MSHV_CREATE_PARTITION is KVM_CREATE_VM, MSHV_CREATE_VP is
 *    KVM_CREATE_VCPU; the fds handed out are the real KVM fds, so close and fd accounting are real.
 *  - MSHV_SET_GUEST_MEMORY becomes a KVM memory slot (KVM_MEM_READONLY without WRITABLE).
 *  - MSHV_ROOT_HVCALL serves HvCallGetVpRegisters/HvCallSetVpRegisters from KVM_GET/SET_REGS/SREGS.
 *  - MSHV_RUN_VP runs KVM_RUN until an exit, finishes KVM's side of it, and leaves the vCPU where
 *    the Microsoft Hypervisor leaves a VP after an intercept: at the intercepted instruction, with
 *    nothing done (the VMM advances RIP by header.instruction_length, writes RAX for `in` and the
 *    destination register of an MMIO read). The intercept message carries the documented layouts,
 *    with instruction bytes read from guest memory (KVM_TRANSLATE, then the slot's host memory).
 *  - A signal interrupts MSHV_RUN_VP with EINTR; there is no immediate_exit in this ABI.
 *
 * Where KVM cannot do what the ABI describes, the double refuses rather than fakes: mappings without
 * MSHV_SET_MEM_BIT_EXECUTABLE (KVM has no per-slot no-execute) fail with EOPNOTSUPP, as do the
 * ioctls Glint does not use (irqfd, ioeventfd, MSI routing, GPA access bitmaps, VP state).
 * Every other call passes through to the C library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mshv_abi.h"

#define MAX_FDS 65536
#define MAX_REGIONS 64
#define MAX_VPS 1

enum kind { NONE, DEVICE, PARTITION, VP };

struct region {
  int used;
  uint32_t slot;
  uint64_t gpa, size, uaddr;
  uint8_t flags;
};

struct partition;

struct vp {
  int fd;
  uint32_t index;
  struct partition *partition;
  struct kvm_run *run;
  size_t run_size;
  pthread_mutex_t lock;
  uint8_t *message_page; /* the intercept message page, for mmap */
};

struct partition {
  int fd;
  int kvm_fd;
  int initialized;
  pthread_mutex_t lock;
  struct region regions[MAX_REGIONS];
  struct vp *vps[MAX_VPS];
};

struct entry {
  enum kind kind;
  struct partition *partition;
  struct vp *vp;
};

static struct entry table[MAX_FDS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void) {
  real_open = dlsym(RTLD_NEXT, "open");
  real_open64 = dlsym(RTLD_NEXT, "open64");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_ioctl = dlsym(RTLD_NEXT, "ioctl");
  real_close = dlsym(RTLD_NEXT, "close");
  real_mmap = dlsym(RTLD_NEXT, "mmap");
}

static void init(void) { pthread_once(&once, resolve); }

/* The KVM calls the double makes itself: straight to the kernel. */
static long kvm(int fd, unsigned long request, void *arg) {
  return syscall(SYS_ioctl, fd, request, arg);
}

static int fail(int error) {
  errno = error;
  return -1;
}

static const char *device_path(void) {
  const char *path = getenv("GLINT_MSHV_DOUBLE_DEVICE");
  return path && *path ? path : "/dev/mshv";
}

static struct entry lookup(int fd) {
  struct entry e = {NONE, NULL, NULL};
  if (fd >= 0 && fd < MAX_FDS) {
    pthread_mutex_lock(&table_lock);
    e = table[fd];
    pthread_mutex_unlock(&table_lock);
  }
  return e;
}

static void remember(int fd, enum kind kind, struct partition *p, struct vp *v) {
  pthread_mutex_lock(&table_lock);
  table[fd].kind = kind;
  table[fd].partition = p;
  table[fd].vp = v;
  pthread_mutex_unlock(&table_lock);
}

static int open_device(int flags) {
  /* /dev/mshv is 0600 root-only; the double inherits /dev/kvm's permissions instead. */
  int fd = (int) syscall(SYS_openat, AT_FDCWD, "/dev/kvm", (flags & O_CLOEXEC) | O_RDWR, 0);
  if (fd < 0) {
    return -1;
  }
  if (fd >= MAX_FDS) {
    syscall(SYS_close, fd);
    return fail(EMFILE);
  }
  remember(fd, DEVICE, NULL, NULL);
  return fd;
}

static int is_device(const char *path) { return path && strcmp(path, device_path()) == 0; }

int open(const char *path, int flags, ...) {
  init();
  va_list ap;
  va_start(ap, flags);
  int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (is_device(path)) {
    return open_device(flags);
  }
  return real_open ? real_open(path, flags, mode) : (int) syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  init();
  va_list ap;
  va_start(ap, flags);
  int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (is_device(path)) {
    return open_device(flags);
  }
  return real_open64 ? real_open64(path, flags, mode) : (int) syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  init();
  va_list ap;
  va_start(ap, flags);
  int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (is_device(path)) {
    return open_device(flags);
  }
  return real_openat ? real_openat(dirfd, path, flags, mode) : (int) syscall(SYS_openat, dirfd, path, flags, mode);
}

static void free_vp(struct vp *v) {
  if (v->run) {
    munmap(v->run, v->run_size);
  }
  if (v->message_page) {
    munmap(v->message_page, 4096);
  }
  if (v->partition) {
    pthread_mutex_lock(&v->partition->lock);
    for (int i = 0; i < MAX_VPS; i++) {
      if (v->partition->vps[i] == v) {
        v->partition->vps[i] = NULL;
      }
    }
    pthread_mutex_unlock(&v->partition->lock);
  }
  free(v);
}

int close(int fd) {
  init();
  struct entry e = lookup(fd);
  if (e.kind != NONE) {
    remember(fd, NONE, NULL, NULL);
    if (e.kind == VP) {
      free_vp(e.vp);
    } else if (e.kind == PARTITION) {
      /* The kernel keeps a partition alive while its VP fds are open; so does KVM with the VM. The
       * bookkeeping goes once no VP refers to it. */
      struct partition *p = e.partition;
      int vps = 0;
      pthread_mutex_lock(&p->lock);
      for (int i = 0; i < MAX_VPS; i++) {
        if (p->vps[i]) {
          p->vps[i]->partition = NULL;
          vps++;
        }
      }
      pthread_mutex_unlock(&p->lock);
      free(p);
      (void) vps;
    }
  }
  return real_close ? real_close(fd) : (int) syscall(SYS_close, fd);
}

/* ---- memory regions ---- */

static struct region *region_of(struct partition *p, uint64_t gpa) {
  for (int i = 0; i < MAX_REGIONS; i++) {
    struct region *r = &p->regions[i];
    if (r->used && gpa >= r->gpa && gpa - r->gpa < r->size) {
      return r;
    }
  }
  return NULL;
}

static int set_guest_memory(struct partition *p, const struct mshv_user_mem_region *m) {
  for (int i = 0; i < 7; i++) {
    if (m->rsvd[i]) {
      return fail(EINVAL);
    }
  }
  if (m->flags & ~MSHV_SET_MEM_FLAGS_MASK) {
    return fail(EINVAL);
  }
  uint64_t gpa = m->guest_pfn * MSHV_HV_PAGE_SIZE;
  pthread_mutex_lock(&p->lock);
  int result = 0;
  if (m->flags & (1u << MSHV_SET_MEM_BIT_UNMAP)) {
    /* "To unmap, these fields must match an existing mapping." */
    struct region *r = region_of(p, gpa);
    if (!r || r->gpa != gpa || r->size != m->size || r->uaddr != m->userspace_addr) {
      result = fail(EINVAL);
    } else {
      struct kvm_userspace_memory_region k = {.slot = r->slot, .guest_phys_addr = gpa};
      if (kvm(p->fd, KVM_SET_USER_MEMORY_REGION, &k) < 0) {
        result = -1;
      } else {
        r->used = 0;
      }
    }
    pthread_mutex_unlock(&p->lock);
    return result;
  }
  if (m->size == 0 || m->size % MSHV_HV_PAGE_SIZE || m->userspace_addr % MSHV_HV_PAGE_SIZE
      || gpa / MSHV_HV_PAGE_SIZE != m->guest_pfn) {
    pthread_mutex_unlock(&p->lock);
    return fail(EINVAL);
  }
  /* "Mappings can't overlap in GPA space or userspace." */
  int free_index = -1;
  for (int i = 0; i < MAX_REGIONS; i++) {
    struct region *r = &p->regions[i];
    if (!r->used) {
      if (free_index < 0) {
        free_index = i;
      }
      continue;
    }
    if ((gpa < r->gpa + r->size && r->gpa < gpa + m->size)
        || (m->userspace_addr < r->uaddr + r->size && r->uaddr < m->userspace_addr + m->size)) {
      pthread_mutex_unlock(&p->lock);
      return fail(EEXIST);
    }
  }
  if (!(m->flags & (1u << MSHV_SET_MEM_BIT_EXECUTABLE))) {
    pthread_mutex_unlock(&p->lock);
    return fail(EOPNOTSUPP); /* KVM cannot forbid execution per slot; see the file comment */
  }
  if (free_index < 0) {
    pthread_mutex_unlock(&p->lock);
    return fail(ENOSPC);
  }
  struct kvm_userspace_memory_region k = {
      .slot = (uint32_t) free_index,
      .flags = (m->flags & (1u << MSHV_SET_MEM_BIT_WRITABLE)) ? 0 : KVM_MEM_READONLY,
      .guest_phys_addr = gpa,
      .memory_size = m->size,
      .userspace_addr = m->userspace_addr,
  };
  if (kvm(p->fd, KVM_SET_USER_MEMORY_REGION, &k) < 0) {
    result = -1;
  } else {
    struct region *r = &p->regions[free_index];
    r->used = 1;
    r->slot = (uint32_t) free_index;
    r->gpa = gpa;
    r->size = m->size;
    r->uaddr = m->userspace_addr;
    r->flags = m->flags;
  }
  pthread_mutex_unlock(&p->lock);
  return result;
}

/* ---- registers ---- */

static uint16_t attributes_of(const struct kvm_segment *s) {
  uint16_t a = (uint16_t) (s->type & HV_SEGMENT_TYPE_MASK);
  a |= s->s ? HV_SEGMENT_NON_SYSTEM : 0;
  a |= (uint16_t) ((s->dpl & 3) << HV_SEGMENT_DPL_SHIFT);
  a |= (s->present && !s->unusable) ? HV_SEGMENT_PRESENT : 0;
  a |= s->avl ? HV_SEGMENT_AVAILABLE : 0;
  a |= s->l ? HV_SEGMENT_LONG : 0;
  a |= s->db ? HV_SEGMENT_DEFAULT : 0;
  a |= s->g ? HV_SEGMENT_GRANULARITY : 0;
  return a;
}

static void to_hv_segment(const struct kvm_segment *s, struct hv_x64_segment_register *h) {
  h->base = s->base;
  h->limit = s->limit;
  h->selector = s->selector;
  h->attributes = attributes_of(s);
}

static void to_kvm_segment(const struct hv_x64_segment_register *h, struct kvm_segment *s) {
  memset(s, 0, sizeof *s);
  s->base = h->base;
  s->limit = h->limit;
  s->selector = h->selector;
  s->type = h->attributes & HV_SEGMENT_TYPE_MASK;
  s->s = (h->attributes & HV_SEGMENT_NON_SYSTEM) != 0;
  s->dpl = (h->attributes >> HV_SEGMENT_DPL_SHIFT) & 3;
  s->present = (h->attributes & HV_SEGMENT_PRESENT) != 0;
  s->avl = (h->attributes & HV_SEGMENT_AVAILABLE) != 0;
  s->l = (h->attributes & HV_SEGMENT_LONG) != 0;
  s->db = (h->attributes & HV_SEGMENT_DEFAULT) != 0;
  s->g = (h->attributes & HV_SEGMENT_GRANULARITY) != 0;
  s->unusable = !s->present;
}

static __u64 *gpr(struct kvm_regs *r, uint32_t name) {
  switch (name) {
    case HV_X64_REGISTER_RAX: return &r->rax;
    case HV_X64_REGISTER_RCX: return &r->rcx;
    case HV_X64_REGISTER_RDX: return &r->rdx;
    case HV_X64_REGISTER_RBX: return &r->rbx;
    case HV_X64_REGISTER_RSP: return &r->rsp;
    case HV_X64_REGISTER_RBP: return &r->rbp;
    case HV_X64_REGISTER_RSI: return &r->rsi;
    case HV_X64_REGISTER_RDI: return &r->rdi;
    case HV_X64_REGISTER_R8: return &r->r8;
    case HV_X64_REGISTER_R9: return &r->r9;
    case HV_X64_REGISTER_R10: return &r->r10;
    case HV_X64_REGISTER_R11: return &r->r11;
    case HV_X64_REGISTER_R12: return &r->r12;
    case HV_X64_REGISTER_R13: return &r->r13;
    case HV_X64_REGISTER_R14: return &r->r14;
    case HV_X64_REGISTER_R15: return &r->r15;
    case HV_X64_REGISTER_RIP: return &r->rip;
    case HV_X64_REGISTER_RFLAGS: return &r->rflags;
    default: return NULL;
  }
}

static struct kvm_segment *segment(struct kvm_sregs *s, uint32_t name) {
  switch (name) {
    case HV_X64_REGISTER_ES: return &s->es;
    case HV_X64_REGISTER_CS: return &s->cs;
    case HV_X64_REGISTER_SS: return &s->ss;
    case HV_X64_REGISTER_DS: return &s->ds;
    case HV_X64_REGISTER_FS: return &s->fs;
    case HV_X64_REGISTER_GS: return &s->gs;
    case HV_X64_REGISTER_LDTR: return &s->ldt;
    case HV_X64_REGISTER_TR: return &s->tr;
    default: return NULL;
  }
}

static struct kvm_dtable *table_register(struct kvm_sregs *s, uint32_t name) {
  return name == HV_X64_REGISTER_IDTR ? &s->idt : name == HV_X64_REGISTER_GDTR ? &s->gdt : NULL;
}

static __u64 *control(struct kvm_sregs *s, uint32_t name) {
  switch (name) {
    case HV_X64_REGISTER_CR0: return &s->cr0;
    case HV_X64_REGISTER_CR2: return &s->cr2;
    case HV_X64_REGISTER_CR3: return &s->cr3;
    case HV_X64_REGISTER_CR4: return &s->cr4;
    case HV_X64_REGISTER_CR8: return &s->cr8;
    case HV_X64_REGISTER_EFER: return &s->efer;
    case HV_X64_REGISTER_APIC_BASE: return &s->apic_base;
    default: return NULL;
  }
}

static int is_gpr(uint32_t n) { return n >= HV_X64_REGISTER_RAX && n <= HV_X64_REGISTER_RFLAGS; }

/* Fills *value for name from regs/sregs; returns 0 or an HV_STATUS. */
static int read_register(struct kvm_regs *r, struct kvm_sregs *s, uint32_t name, union hv_register_value *value) {
  memset(value, 0, sizeof *value);
  __u64 *p;
  struct kvm_segment *seg;
  struct kvm_dtable *t;
  if ((p = gpr(r, name)) || (p = control(s, name))) {
    value->reg64 = *p;
  } else if ((seg = segment(s, name))) {
    to_hv_segment(seg, &value->segment);
  } else if ((t = table_register(s, name))) {
    value->table.limit = t->limit;
    value->table.base = t->base;
  } else {
    return HV_STATUS_INVALID_PARAMETER;
  }
  return HV_STATUS_SUCCESS;
}

static int write_register(struct kvm_regs *r, struct kvm_sregs *s, uint32_t name, const union hv_register_value *value) {
  __u64 *p;
  struct kvm_segment *seg;
  struct kvm_dtable *t;
  if ((p = gpr(r, name)) || (p = control(s, name))) {
    if (name == HV_X64_REGISTER_RFLAGS && !(value->reg64 & 2)) {
      return HV_STATUS_INVALID_REGISTER_VALUE;
    }
    *p = value->reg64;
  } else if ((seg = segment(s, name))) {
    to_kvm_segment(&value->segment, seg);
  } else if ((t = table_register(s, name))) {
    t->limit = value->table.limit;
    t->base = value->table.base;
  } else {
    return HV_STATUS_INVALID_PARAMETER;
  }
  return HV_STATUS_SUCCESS;
}

static int status_errno(int status) {
  switch (status) {
    case HV_STATUS_SUCCESS: return 0;
    case HV_STATUS_INVALID_HYPERCALL_CODE:
    case HV_STATUS_INVALID_HYPERCALL_INPUT:
    case HV_STATUS_INVALID_ALIGNMENT:
    case HV_STATUS_INVALID_PARAMETER:
    case HV_STATUS_INVALID_REGISTER_VALUE:
    case HV_STATUS_INVALID_VP_INDEX: return EINVAL;
    case HV_STATUS_ACCESS_DENIED:
    case HV_STATUS_OPERATION_DENIED: return EACCES;
    case HV_STATUS_INSUFFICIENT_MEMORY: return ENOMEM;
    default: return EIO;
  }
}

static const uint16_t allowed_calls[] = {
    HVCALL_GET_PARTITION_PROPERTY, HVCALL_SET_PARTITION_PROPERTY, HVCALL_INSTALL_INTERCEPT,
    HVCALL_GET_VP_REGISTERS, HVCALL_SET_VP_REGISTERS, HVCALL_TRANSLATE_VIRTUAL_ADDRESS,
    HVCALL_CLEAR_VIRTUAL_INTERRUPT, HVCALL_REGISTER_INTERCEPT_RESULT,
    HVCALL_ASSERT_VIRTUAL_INTERRUPT, HVCALL_SIGNAL_EVENT_DIRECT, HVCALL_POST_MESSAGE_DIRECT,
    HVCALL_GET_VP_CPUID_VALUES,
};

static int vp_registers(struct partition *p, struct mshv_root_hvcall *args) {
  uint8_t in[MSHV_HV_PAGE_SIZE];
  memcpy(in, (const void *) (uintptr_t) args->in_ptr, args->in_sz);
  struct hv_input_get_vp_registers *header = (struct hv_input_get_vp_registers *) in;
  int get = args->code == HVCALL_GET_VP_REGISTERS;
  size_t element = get ? sizeof(uint32_t) : sizeof(struct hv_register_assoc);
  size_t need_in = sizeof(struct hv_input_get_vp_registers) + (size_t) args->reps * element;
  int status = HV_STATUS_SUCCESS;
  unsigned done = 0;
  if (args->reps == 0 || args->in_sz < need_in
      || (get && (!args->out_ptr || args->out_sz < (size_t) args->reps * sizeof(union hv_register_value)))) {
    status = HV_STATUS_INVALID_HYPERCALL_INPUT;
  } else if (header->input_vtl != 0 || header->rsvd_z8 || header->rsvd_z16) {
    status = HV_STATUS_INVALID_PARAMETER;
  }
  struct vp *v = NULL;
  if (status == HV_STATUS_SUCCESS) {
    pthread_mutex_lock(&p->lock);
    v = header->vp_index < MAX_VPS ? p->vps[header->vp_index] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (!v) {
      status = HV_STATUS_INVALID_VP_INDEX;
    }
  }
  if (status == HV_STATUS_SUCCESS) {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (kvm(v->fd, KVM_GET_REGS, &regs) < 0 || kvm(v->fd, KVM_GET_SREGS, &sregs) < 0) {
      return -1;
    }
    int regs_dirty = 0, sregs_dirty = 0;
    union hv_register_value out[MSHV_HV_PAGE_SIZE / sizeof(union hv_register_value)];
    for (; done < args->reps; done++) {
      if (get) {
        if (done >= sizeof out / sizeof out[0]) {
          status = HV_STATUS_INVALID_HYPERCALL_INPUT;
          break;
        }
        status = read_register(&regs, &sregs, header->names[done], &out[done]);
      } else {
        struct hv_input_set_vp_registers *set = (struct hv_input_set_vp_registers *) in;
        struct hv_register_assoc *a = &set->elements[done];
        union hv_register_value value;
        memcpy(&value, (const uint8_t *) a + offsetof(struct hv_register_assoc, value), sizeof value);
        status = write_register(&regs, &sregs, a->name, &value);
        if (status == HV_STATUS_SUCCESS) {
          if (is_gpr(a->name)) {
            regs_dirty = 1;
          } else {
            sregs_dirty = 1;
          }
        }
      }
      if (status != HV_STATUS_SUCCESS) {
        break;
      }
    }
    /* Registers set before a failing element stay set, as reps completed says. */
    if (regs_dirty && kvm(v->fd, KVM_SET_REGS, &regs) < 0) {
      return -1;
    }
    if (sregs_dirty && kvm(v->fd, KVM_SET_SREGS, &sregs) < 0) {
      status = HV_STATUS_INVALID_REGISTER_VALUE;
    }
    if (get) {
      memcpy((void *) (uintptr_t) args->out_ptr, out, (size_t) done * sizeof(union hv_register_value));
    }
  }
  args->status = (uint16_t) status;
  args->reps = (uint16_t) done;
  return status == HV_STATUS_SUCCESS ? 0 : fail(status_errno(status));
}

static int root_hvcall(struct partition *p, struct mshv_root_hvcall *user) {
  struct mshv_root_hvcall args = *user;
  int rsvd = 0;
  for (int i = 0; i < 6; i++) {
    rsvd |= args.rsvd[i];
  }
  if (args.status || !args.in_ptr || args.in_sz < sizeof(uint64_t) || rsvd
      || args.in_sz > MSHV_HV_PAGE_SIZE) {
    return fail(EINVAL);
  }
  if (args.out_ptr && (!args.out_sz || args.out_sz > MSHV_HV_PAGE_SIZE)) {
    return fail(EINVAL);
  }
  size_t i;
  for (i = 0; i < sizeof allowed_calls / sizeof allowed_calls[0]; i++) {
    if (allowed_calls[i] == args.code) {
      break;
    }
  }
  if (i == sizeof allowed_calls / sizeof allowed_calls[0]) {
    return fail(EINVAL);
  }
  int result;
  if (args.code == HVCALL_GET_VP_REGISTERS || args.code == HVCALL_SET_VP_REGISTERS) {
    result = vp_registers(p, &args);
  } else {
    /* A real hypercall the double does not implement. */
    args.status = HV_STATUS_INVALID_HYPERCALL_CODE;
    args.reps = 0;
    result = fail(EOPNOTSUPP);
  }
  int saved = errno;
  user->status = args.status;
  user->reps = args.reps;
  errno = saved;
  return result;
}

/* ---- running ---- */

/* Copies guest bytes at linear address `linear` (translated by the vCPU's page tables). */
static int read_guest(struct vp *v, uint64_t linear, uint8_t *buffer, int count) {
  int copied = 0;
  while (copied < count) {
    struct kvm_translation t = {.linear_address = linear + (uint64_t) copied};
    if (kvm(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
      break;
    }
    struct region *r = region_of(v->partition, t.physical_address);
    if (!r) {
      break;
    }
    uint64_t page_left = 4096 - (t.physical_address & 4095);
    uint64_t region_left = r->gpa + r->size - t.physical_address;
    uint64_t n = (uint64_t) (count - copied);
    n = n < page_left ? n : page_left;
    n = n < region_left ? n : region_left;
    memcpy(buffer + copied, (const void *) (uintptr_t) (r->uaddr + t.physical_address - r->gpa), n);
    copied += (int) n;
  }
  return copied;
}

/* Runs KVM_RUN with immediate_exit, so KVM finishes the exit it reported without entering the
 * guest (KVM's documented way to complete pending I/O). */
static int complete_kvm_exit(struct vp *v) {
  v->run->immediate_exit = 1;
  long r = kvm(v->fd, KVM_RUN, NULL);
  v->run->immediate_exit = 0;
  return (r < 0 && errno != EINTR) ? -1 : 0;
}

enum mode { REAL16, PROT32, LONG64 };

static enum mode mode_of(const struct kvm_sregs *s) {
  if (!(s->cr0 & 1)) {
    return REAL16;
  }
  return ((s->efer & (1u << 10)) && s->cs.l) ? LONG64 : PROT32;
}

static uint64_t linear_rip(const struct kvm_sregs *s, uint64_t rip) {
  return mode_of(s) == LONG64 ? rip : s->cs.base + rip;
}

static void fill_header(struct vp *v, const struct kvm_regs *regs, const struct kvm_sregs *s,
                        uint64_t rip, int length, int access, struct hv_x64_intercept_message_header *h) {
  h->vp_index = v->index;
  h->instruction_length_cr8 = (uint8_t) ((length & 0xF) | ((s->cr8 & 0xF) << 4));
  h->intercept_access_type = (uint8_t) access;
  uint16_t state = (uint16_t) (s->cs.dpl & HV_EXECUTION_STATE_CPL_MASK);
  state |= (s->cr0 & 1) ? HV_EXECUTION_STATE_CR0_PE : 0;
  state |= (s->efer & (1u << 10)) ? HV_EXECUTION_STATE_EFER_LMA : 0;
  h->execution_state = state;
  to_hv_segment(&s->cs, &h->cs_segment);
  h->rip = rip;
  h->rflags = regs->rflags;
}

/*
 * Finds the start of the instruction that ended just before linear address `end` (KVM reports
 * some exits after the instruction completed): tries each length from 1 to 15 and keeps the one
 * that `accept` recognises. Returns the length, or 0.
 */
typedef int (*acceptor)(const uint8_t *bytes, int length, void *context);

static int length_before(struct vp *v, uint64_t end, acceptor accept, void *context) {
  uint8_t bytes[15];
  int best = 0;
  for (int length = 1; length <= 15; length++) {
    if (read_guest(v, end - (uint64_t) length, bytes, length) != length) {
      break;
    }
    if (accept(bytes, length, context)) {
      best = length; /* the longest: a prefix byte belongs to the instruction */
    }
  }
  return best;
}

/* One in/out/ins/outs instruction, as the double needs it to describe an I/O intercept. */
struct io_insn {
  int length, in, size, string, rep, address_size;
  int port; /* the immediate port, or -1 for the DX forms */
};

static int decode_io(const uint8_t *b, int n, enum mode mode, struct io_insn *out) {
  int i = 0, opsize16 = mode == REAL16, rep = 0;
  int address_size = mode == LONG64 ? 8 : mode == PROT32 ? 4 : 2;
  for (; i < n; i++) {
    uint8_t p = b[i];
    if (p == 0x66) {
      opsize16 = mode != REAL16;
    } else if (p == 0x67) {
      address_size = mode == LONG64 ? 4 : mode == PROT32 ? 2 : 4;
    } else if (p == 0xF3 || p == 0xF2) {
      rep = 1;
    } else if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E || p == 0x64 || p == 0x65 || p == 0xF0) {
      continue;
    } else {
      break;
    }
  }
  if (mode == LONG64 && i < n && (b[i] & 0xF0) == 0x40) {
    i++;
  }
  if (i >= n) {
    return 0;
  }
  uint8_t op = b[i++];
  out->port = -1;
  if (op >= 0xE4 && op <= 0xE7) {
    if (i >= n) {
      return 0;
    }
    out->port = b[i++];
    out->string = 0;
  } else if (op >= 0xEC && op <= 0xEF) {
    out->string = 0;
  } else if (op >= 0x6C && op <= 0x6F) {
    out->string = 1;
  } else {
    return 0;
  }
  out->in = (op & 2) == 0;
  out->size = (op & 1) ? (opsize16 ? 2 : 4) : 1;
  out->rep = rep && out->string;
  out->address_size = address_size;
  out->length = i;
  return i;
}

struct io_context {
  int in, size, port;
  uint64_t rdx;
  enum mode mode;
  struct io_insn found;
};

static int io_matches(const struct io_insn *d, const struct io_context *io) {
  int port = d->port >= 0 ? d->port : (int) (io->rdx & 0xFFFF);
  return d->in == io->in && d->size == io->size && port == io->port;
}

static int accept_io(const uint8_t *b, int length, void *c) {
  struct io_context *io = c;
  struct io_insn d;
  if (decode_io(b, length, io->mode, &d) != length || !io_matches(&d, io)) {
    return 0;
  }
  io->found = d;
  return 1;
}

static int write_guest(struct vp *v, uint64_t linear, const uint8_t *buffer, int count) {
  int copied = 0;
  while (copied < count) {
    struct kvm_translation t = {.linear_address = linear + (uint64_t) copied};
    if (kvm(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
      break;
    }
    struct region *r = region_of(v->partition, t.physical_address);
    if (!r) {
      break;
    }
    uint64_t page_left = 4096 - (t.physical_address & 4095);
    uint64_t n = (uint64_t) (count - copied);
    n = n < page_left ? n : page_left;
    memcpy((void *) (uintptr_t) (r->uaddr + t.physical_address - r->gpa), buffer + copied, n);
    copied += (int) n;
  }
  return copied;
}

static uint64_t address_mask(int address_size) {
  return address_size == 8 ? ~0ull : address_size == 4 ? 0xFFFFFFFFull : 0xFFFFull;
}

struct store_context {
  int size;
  uint64_t gpa, next_rip;
  struct vp *v;
  const struct kvm_regs *regs;
  const struct kvm_sregs *sregs;
  enum mode mode;
};

static uint64_t reg_by_number(const struct kvm_regs *r, int n) {
  const uint64_t values[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
  return values[n & 15];
}

/* Recognises a store of the mov family (88, 89, C6 /0, C7 /0, A2, A3) whose operand size and
 * effective address match the exit: enough to rewind KVM's completed MMIO writes. */
static int accept_store(const uint8_t *b, int length, void *c) {
  struct store_context *s = c;
  int i = 0, opsize16 = s->mode == REAL16, addr16 = s->mode == REAL16, addr32 = s->mode == PROT32;
  uint8_t rex = 0;
  uint64_t seg_base = 0;
  int seg_override = 0;
  for (; i < length; i++) {
    uint8_t p = b[i];
    if (p == 0x66) {
      opsize16 = !(s->mode == REAL16);
    } else if (p == 0x67) {
      if (s->mode == LONG64) {
        addr32 = 1;
      } else {
        addr16 = !addr16;
        addr32 = !addr32;
      }
    } else if (p == 0x64 || p == 0x65) {
      seg_base = p == 0x64 ? s->sregs->fs.base : s->sregs->gs.base;
      seg_override = 1;
    } else if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E || p == 0xF0) {
      if (s->mode != LONG64) {
        const struct kvm_segment *sg = p == 0x26 ? &s->sregs->es : p == 0x2E ? &s->sregs->cs : p == 0x36 ? &s->sregs->ss : &s->sregs->ds;
        seg_base = sg->base;
        seg_override = p != 0xF0;
      }
    } else {
      break;
    }
  }
  if (s->mode == LONG64 && i < length && (b[i] & 0xF0) == 0x40) {
    rex = b[i++];
  }
  if (i >= length) {
    return 0;
  }
  uint8_t op = b[i++];
  int size;
  int wide = (rex & 8) != 0;
  if (op == 0x88 || op == 0xC6 || op == 0xA2) {
    size = 1;
  } else if (op == 0x89 || op == 0xC7 || op == 0xA3) {
    size = wide ? 8 : opsize16 ? 2 : 4;
  } else {
    return 0;
  }
  if (size != s->size) {
    return 0;
  }
  uint64_t ea;
  if (op == 0xA2 || op == 0xA3) {
    int n = s->mode == LONG64 ? (addr32 ? 4 : 8) : (addr16 ? 2 : 4);
    if (i + n != length) {
      return 0;
    }
    ea = 0;
    for (int k = 0; k < n; k++) {
      ea |= (uint64_t) b[i + k] << (8 * k);
    }
  } else {
    if (i >= length) {
      return 0;
    }
    uint8_t modrm = b[i++];
    int mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3 || ((op == 0xC6 || op == 0xC7) && ((modrm >> 3) & 7) != 0)) {
      return 0;
    }
    int64_t disp = 0;
    ea = 0;
    if (addr16) {
      static const int base16[8][2] = {{3, 6}, {3, 7}, {5, 6}, {5, 7}, {6, -1}, {7, -1}, {5, -1}, {3, -1}};
      if (mod == 0 && rm == 6) {
        if (i + 2 > length) return 0;
        disp = (int16_t) (b[i] | b[i + 1] << 8);
        i += 2;
      } else {
        ea = reg_by_number(s->regs, base16[rm][0]) + (base16[rm][1] >= 0 ? reg_by_number(s->regs, base16[rm][1]) : 0);
        if (mod == 1) {
          if (i + 1 > length) return 0;
          disp = (int8_t) b[i++];
        } else if (mod == 2) {
          if (i + 2 > length) return 0;
          disp = (int16_t) (b[i] | b[i + 1] << 8);
          i += 2;
        }
      }
      ea = (ea + (uint64_t) disp) & 0xFFFF;
    } else {
      int rip_relative = 0;
      if (rm == 4) {
        if (i >= length) return 0;
        uint8_t sib = b[i++];
        int scale = sib >> 6, index = ((sib >> 3) & 7) | ((rex & 2) << 2), base = (sib & 7) | ((rex & 1) << 3);
        if (index != 4) {
          ea += reg_by_number(s->regs, index) << scale;
        }
        if ((sib & 7) == 5 && mod == 0) {
          if (i + 4 > length) return 0;
          disp = (int32_t) (b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t) b[i + 3] << 24);
          i += 4;
        } else {
          ea += reg_by_number(s->regs, base);
        }
      } else if (rm == 5 && mod == 0) {
        if (i + 4 > length) return 0;
        disp = (int32_t) (b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t) b[i + 3] << 24);
        i += 4;
        rip_relative = s->mode == LONG64;
      } else {
        ea += reg_by_number(s->regs, rm | ((rex & 1) << 3));
      }
      if (mod == 1) {
        if (i + 1 > length) return 0;
        disp = (int8_t) b[i++];
      } else if (mod == 2) {
        if (i + 4 > length) return 0;
        disp = (int32_t) (b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t) b[i + 3] << 24);
        i += 4;
      }
      int immediate = op == 0xC6 ? 1 : op == 0xC7 ? (size == 2 ? 2 : 4) : 0;
      if (i + immediate != length) {
        return 0;
      }
      ea += (uint64_t) disp + (rip_relative ? s->next_rip : 0);
      if (addr32 || s->mode == PROT32) {
        ea &= 0xFFFFFFFFu;
      }
      i += immediate;
    }
    if (addr16) {
      int immediate = op == 0xC6 ? 1 : op == 0xC7 ? (size == 2 ? 2 : 4) : 0;
      if (i + immediate != length) {
        return 0;
      }
    }
  }
  if (!seg_override && s->mode != LONG64) {
    seg_base = s->sregs->ds.base;
  }
  struct kvm_translation t = {.linear_address = ea + seg_base};
  if (kvm(s->v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
    return 0;
  }
  return t.physical_address == s->gpa;
}

static void copy_instruction(struct vp *v, const struct kvm_sregs *s, uint64_t rip, uint8_t *bytes, uint8_t *count) {
  memset(bytes, 0, 16);
  *count = (uint8_t) read_guest(v, linear_rip(s, rip), bytes, 16);
}

static int io_exit(struct vp *v, struct hv_message *m) {
  struct kvm_run *run = v->run;
  struct kvm_regs before, after;
  struct kvm_sregs sregs;
  int in = run->io.direction == KVM_EXIT_IO_IN;
  int size = run->io.size, port = run->io.port;
  uint32_t count = run->io.count;
  uint64_t out_data = 0;
  if (!in) {
    memcpy(&out_data, (uint8_t *) run + run->io.data_offset, (size_t) size);
  }
  if (kvm(v->fd, KVM_GET_REGS, &before) < 0 || kvm(v->fd, KVM_GET_SREGS, &sregs) < 0) {
    return -1;
  }
  enum mode mode = mode_of(&sregs);
  struct io_context io = {in, size, port, before.rdx, mode, {0}};
  uint8_t bytes[15];
  /* An in stops before the instruction (KVM writes the data, and moves on, at the next run). */
  struct io_insn insn = {0};
  uint64_t start = before.rip;
  int decoded = in && decode_io(bytes, read_guest(v, linear_rip(&sregs, start), bytes, 15), mode, &insn) > 0
      && io_matches(&insn, &io);
  if (in && !decoded) {
    fprintf(stderr, "mshv double: no in instruction at RIP 0x%llx\n", (unsigned long long) start);
    return fail(EIO);
  }
  /* A string in stores count items at ES:RDI when KVM completes it: keep what they overwrite. */
  uint8_t saved[4096];
  uint64_t saved_at = 0;
  int saved_bytes = 0;
  int direction = (before.rflags & (1u << 10)) ? -1 : 1;
  if (in && insn.string) {
    uint64_t span = (uint64_t) count * (uint64_t) size;
    uint64_t low = direction > 0 ? before.rdi : before.rdi - span + (uint64_t) size;
    saved_at = (mode == LONG64 ? 0 : sregs.es.base) + (low & address_mask(insn.address_size));
    saved_bytes = span <= sizeof saved ? read_guest(v, saved_at, saved, (int) span) : 0;
  }
  if (in) {
    memset((uint8_t *) run + run->io.data_offset, 0, (size_t) count * (size_t) size);
  }
  if (complete_kvm_exit(v) < 0 || kvm(v->fd, KVM_GET_REGS, &after) < 0) {
    return -1;
  }
  if (saved_bytes > 0) {
    write_guest(v, saved_at, saved, saved_bytes);
  }
  if (!in) {
    if (after.rip != before.rip) {
      start = before.rip; /* KVM moved on only now: it stopped before the out */
      int n = read_guest(v, linear_rip(&sregs, start), bytes, 15);
      if (decode_io(bytes, n, mode, &insn) == 0 || !io_matches(&insn, &io)) {
        fprintf(stderr, "mshv double: no out instruction at RIP 0x%llx\n", (unsigned long long) start);
        return fail(EIO);
      }
    } else if (decode_io(bytes, read_guest(v, linear_rip(&sregs, after.rip), bytes, 15), mode, &insn) > 0
               && io_matches(&insn, &io) && insn.rep) {
      /* KVM's emulator leaves RIP on a rep outs after each item, even the last (RCX 0): the
       * next entry finds nothing left to do and moves on. */
      start = after.rip;
    } else {
      /* KVM's emulator completed the out before exiting: find where it began. */
      int length = length_before(v, linear_rip(&sregs, after.rip), accept_io, &io);
      if (length == 0) {
        fprintf(stderr, "mshv double: cannot find the I/O instruction before RIP 0x%llx (port 0x%x, size %d, count %u, RIP at exit 0x%llx, RCX 0x%llx -> 0x%llx, RSI 0x%llx -> 0x%llx)\n",
                (unsigned long long) after.rip, port, size, count, (unsigned long long) before.rip,
                (unsigned long long) before.rcx, (unsigned long long) after.rcx,
                (unsigned long long) before.rsi, (unsigned long long) after.rsi);
        return fail(EIO);
      }
      insn = io.found;
      start = after.rip - (uint64_t) length;
    }
  }
  /* Back to the instruction with the registers it started with: the VMM completes it. */
  struct kvm_regs pre = in && !insn.string ? before : after;
  if (in && !insn.string) {
    pre.rax = before.rax;
  }
  if (insn.string) {
    uint64_t moved = (uint64_t) count * (uint64_t) size;
    uint64_t mask = address_mask(insn.address_size);
    __u64 *index = in ? &pre.rdi : &pre.rsi;
    uint64_t value = direction > 0 ? *index - moved : *index + moved;
    *index = (*index & ~mask) | (value & mask);
    if (insn.rep) {
      pre.rcx = (pre.rcx & ~mask) | ((pre.rcx + count) & mask);
    }
  } else if (!in) {
    pre = before;
  }
  pre.rip = start;
  if (kvm(v->fd, KVM_SET_REGS, &pre) < 0) {
    return -1;
  }
  struct hv_x64_io_port_intercept_message *msg = (void *) m->payload;
  m->header.message_type = HVMSG_X64_IO_PORT_INTERCEPT;
  m->header.payload_size = sizeof *msg;
  fill_header(v, &pre, &sregs, start, insn.length, in ? HV_INTERCEPT_ACCESS_READ : HV_INTERCEPT_ACCESS_WRITE, &msg->header);
  msg->port_number = (uint16_t) port;
  msg->access_info = (uint8_t) ((size & HV_IO_ACCESS_SIZE_MASK) | (insn.string ? HV_IO_ACCESS_STRING_OP : 0)
                                | (insn.rep ? HV_IO_ACCESS_REP_PREFIX : 0));
  msg->rax = pre.rax;
  if (!in && !insn.string) {
    /* The value is RAX's low bytes, as the guest wrote it. */
    uint64_t mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
    msg->rax = (pre.rax & ~mask) | (out_data & mask);
  }
  copy_instruction(v, &sregs, start, msg->instruction_bytes, &msg->instruction_byte_count);
  to_hv_segment(&sregs.ds, &msg->ds_segment);
  to_hv_segment(&sregs.es, &msg->es_segment);
  msg->rcx = pre.rcx;
  msg->rsi = pre.rsi;
  msg->rdi = pre.rdi;
  return 0;
}

static int mmio_exit(struct vp *v, struct hv_message *m) {
  struct kvm_run *run = v->run;
  struct kvm_regs before, after;
  struct kvm_sregs sregs;
  uint64_t gpa = run->mmio.phys_addr;
  int write = run->mmio.is_write, size = (int) run->mmio.len;
  if (kvm(v->fd, KVM_GET_REGS, &before) < 0 || kvm(v->fd, KVM_GET_SREGS, &sregs) < 0) {
    return -1;
  }
  if (!write) {
    memset(run->mmio.data, 0, sizeof run->mmio.data);
  }
  if (complete_kvm_exit(v) < 0 || kvm(v->fd, KVM_GET_REGS, &after) < 0) {
    return -1;
  }
  uint64_t rip = before.rip;
  int length;
  if (!write && after.rip != before.rip) {
    length = (int) (after.rip - before.rip);
  } else {
    struct store_context store = {size, gpa, after.rip, v, &after, &sregs, mode_of(&sregs)};
    length = write ? length_before(v, linear_rip(&sregs, after.rip), accept_store, &store) : 0;
    if (length == 0) {
      fprintf(stderr, "mshv double: cannot find the memory instruction before RIP 0x%llx\n", (unsigned long long) after.rip);
      return fail(EIO);
    }
    rip = after.rip - (uint64_t) length;
    before = after;
  }
  before.rip = rip;
  if (kvm(v->fd, KVM_SET_REGS, &before) < 0) {
    return -1;
  }
  pthread_mutex_lock(&v->partition->lock);
  struct region *r = region_of(v->partition, gpa);
  pthread_mutex_unlock(&v->partition->lock);
  struct hv_x64_memory_intercept_message *mem = (void *) m->payload;
  m->header.message_type = r ? HVMSG_GPA_INTERCEPT : HVMSG_UNMAPPED_GPA;
  m->header.payload_size = sizeof *mem;
  fill_header(v, &before, &sregs, rip, length, write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, &mem->header);
  mem->cache_type = 6; /* HV_CACHE_TYPE_WRITE_BACK */
  mem->memory_access_info = HV_MEMORY_ACCESS_GVA_GPA_VALID;
  mem->guest_physical_address = gpa;
  copy_instruction(v, &sregs, rip, mem->instruction_bytes, &mem->instruction_byte_count);
  return 0;
}

static int simple_exit(struct vp *v, struct hv_message *m, uint32_t type) {
  struct kvm_regs regs;
  struct kvm_sregs sregs;
  if (kvm(v->fd, KVM_GET_REGS, &regs) < 0 || kvm(v->fd, KVM_GET_SREGS, &sregs) < 0) {
    return -1;
  }
  struct hv_x64_intercept_message_header *h = (void *) m->payload;
  m->header.message_type = type;
  m->header.payload_size = sizeof *h;
  fill_header(v, &regs, &sregs, regs.rip, 0, HV_INTERCEPT_ACCESS_EXECUTE, h);
  return 0;
}

static int run_vp(struct vp *v, struct mshv_run_vp *out) {
  if (!out) {
    return fail(EFAULT);
  }
  if (!v->partition) {
    return fail(EBADFD);
  }
  struct hv_message message;
  int result;
  for (;;) {
    long r = kvm(v->fd, KVM_RUN, NULL);
    if (r < 0) {
      return -1; /* EINTR when a signal arrived: the documented way to stop a VP */
    }
    memset(&message, 0, sizeof message);
    switch (v->run->exit_reason) {
      case KVM_EXIT_IO: result = io_exit(v, &message); break;
      case KVM_EXIT_MMIO: result = mmio_exit(v, &message); break;
      case KVM_EXIT_HLT: result = simple_exit(v, &message, HVMSG_X64_HALT); break;
      case KVM_EXIT_SHUTDOWN: result = simple_exit(v, &message, HVMSG_UNRECOVERABLE_EXCEPTION); break;
      case KVM_EXIT_FAIL_ENTRY: result = simple_exit(v, &message, HVMSG_INVALID_VP_REGISTER_VALUE); break;
      case KVM_EXIT_INTERNAL_ERROR: result = simple_exit(v, &message, HVMSG_UNSUPPORTED_FEATURE); break;
      case KVM_EXIT_INTR: return fail(EINTR);
      default:
        fprintf(stderr, "mshv double: KVM exit reason %u has no mshv message\n", v->run->exit_reason);
        return fail(EIO);
    }
    if (result < 0) {
      return -1;
    }
    break;
  }
  memcpy(out->msg_buf, &message, sizeof message);
  if (v->message_page) {
    memcpy(v->message_page, &message, sizeof message);
  }
  return 0;
}

static int create_vp(struct partition *p, const struct mshv_create_vp *args) {
  if (!p->initialized) {
    return fail(EINVAL);
  }
  if (args->vp_index >= MAX_VPS) {
    return fail(EINVAL);
  }
  pthread_mutex_lock(&p->lock);
  if (p->vps[args->vp_index]) {
    pthread_mutex_unlock(&p->lock);
    return fail(EEXIST);
  }
  long size = kvm(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
  int fd = size < 0 ? -1 : (int) kvm(p->fd, KVM_CREATE_VCPU, (void *) (uintptr_t) args->vp_index);
  if (fd < 0) {
    pthread_mutex_unlock(&p->lock);
    return -1;
  }
  struct vp *v = calloc(1, sizeof *v);
  void *run = real_mmap ? real_mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (!v || run == MAP_FAILED || fd >= MAX_FDS) {
    int error = !v ? ENOMEM : fd >= MAX_FDS ? EMFILE : errno;
    if (run != MAP_FAILED) {
      munmap(run, (size_t) size);
    }
    free(v);
    syscall(SYS_close, fd);
    pthread_mutex_unlock(&p->lock);
    return fail(error);
  }
  v->fd = fd;
  v->index = args->vp_index;
  v->partition = p;
  v->run = run;
  v->run_size = (size_t) size;
  pthread_mutex_init(&v->lock, NULL);
  p->vps[args->vp_index] = v;
  pthread_mutex_unlock(&p->lock);
  remember(fd, VP, p, v);
  return fd;
}

static int create_partition(int device_fd, const struct mshv_create_partition *args) {
  if ((args->pt_flags & ~(uint64_t) MSHV_PT_FLAGS_MASK) || args->pt_isolation >= MSHV_PT_ISOLATION_COUNT) {
    return fail(EINVAL);
  }
  long fd;
  do {
    fd = kvm(device_fd, KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return -1;
  }
  if (fd >= MAX_FDS) {
    syscall(SYS_close, fd);
    return fail(EMFILE);
  }
  struct partition *p = calloc(1, sizeof *p);
  if (!p) {
    syscall(SYS_close, fd);
    return fail(ENOMEM);
  }
  p->fd = (int) fd;
  p->kvm_fd = device_fd;
  pthread_mutex_init(&p->lock, NULL);
  remember((int) fd, PARTITION, p, NULL);
  return (int) fd;
}

int ioctl(int fd, unsigned long request, ...) {
  init();
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  struct entry e = lookup(fd);
  switch (e.kind) {
    case NONE:
      return real_ioctl ? real_ioctl(fd, request, arg) : (int) syscall(SYS_ioctl, fd, request, arg);
    case DEVICE:
      if (request == MSHV_CREATE_PARTITION) {
        return arg ? create_partition(fd, arg) : fail(EFAULT);
      }
      return fail(ENOTTY);
    case PARTITION:
      switch (request) {
        case MSHV_INITIALIZE_PARTITION:
          if (e.partition->initialized) {
            return fail(EINVAL);
          }
          e.partition->initialized = 1;
          return 0;
        case MSHV_CREATE_VP: return arg ? create_vp(e.partition, arg) : fail(EFAULT);
        case MSHV_SET_GUEST_MEMORY: return arg ? set_guest_memory(e.partition, arg) : fail(EFAULT);
        case MSHV_ROOT_HVCALL: return arg ? root_hvcall(e.partition, arg) : fail(EFAULT);
        default: return (_IOC_TYPE(request) == MSHV_IOCTL) ? fail(EOPNOTSUPP) : fail(ENOTTY);
      }
    case VP: {
      int result;
      pthread_mutex_lock(&e.vp->lock);
      switch (request) {
        case MSHV_RUN_VP: result = run_vp(e.vp, arg); break;
        case MSHV_ROOT_HVCALL:
          result = !arg ? fail(EFAULT) : !e.vp->partition ? fail(EBADFD) : root_hvcall(e.vp->partition, arg);
          break;
        default: result = (_IOC_TYPE(request) == MSHV_IOCTL) ? fail(EOPNOTSUPP) : fail(ENOTTY); break;
      }
      int saved = errno;
      pthread_mutex_unlock(&e.vp->lock);
      errno = saved;
      return result;
    }
  }
  return fail(ENOTTY);
}

void *mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
  init();
  struct entry e = lookup(fd);
  if (e.kind == NONE) {
    return real_mmap ? real_mmap(address, length, prot, flags, fd, offset)
                     : (void *) syscall(SYS_mmap, address, length, prot, flags, fd, offset);
  }
  if (e.kind != VP || offset != MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE * 4096L || length > 4096
      || (prot & PROT_WRITE)) {
    /* The register page and GHCB page are not offered by this double. */
    errno = EINVAL;
    return MAP_FAILED;
  }
  pthread_mutex_lock(&e.vp->lock);
  if (!e.vp->message_page) {
    void *page = real_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    e.vp->message_page = page == MAP_FAILED ? NULL : page;
  }
  pthread_mutex_unlock(&e.vp->lock);
  if (!e.vp->message_page) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  /* A read-only view of the page the double updates after each run. */
  return real_mmap(address, length, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
      ? MAP_FAILED
      : e.vp->message_page;
}
