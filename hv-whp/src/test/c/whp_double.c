/*
 * A test double of WinHvPlatform.dll for Linux: exports the WHv* functions of whp_abi.h with the
 * behaviour Microsoft documents (signatures, HRESULTs, struct layouts), on top of KVM (/dev/kvm).
 * Glint's WHP backend loads it instead of WinHvPlatform.dll when -Dglint.hv.whp.library names it.
 * It follows the documentation, not the backend: where the two disagree, the double is right.
 *
 *   partition          -> a KVM VM (KVM_CREATE_VM); the handle is a pointer to its state
 *   virtual processor  -> a KVM vCPU (KVM_CREATE_VCPU, kvm_run mapped, KVM_SET_CPUID2)
 *   WHvMapGpaRange     -> a memory slot (KVM_SET_USER_MEMORY_REGION; no Write flag ->
 *                         KVM_MEM_READONLY; TrackDirtyPages -> KVM_MEM_LOG_DIRTY_PAGES)
 *   registers          -> KVM_GET/SET_REGS, KVM_GET/SET_SREGS, KVM_GET/SET_FPU
 *   WHvRunVirtualProcessor -> KVM_RUN, each KVM exit turned into a WHV_RUN_VP_EXIT_CONTEXT:
 *       KVM_EXIT_IO   -> X64IoPortAccess, KVM_EXIT_MMIO -> MemoryAccess, KVM_EXIT_HLT -> X64Halt,
 *       KVM_EXIT_SHUTDOWN -> UnrecoverableException, KVM_EXIT_FAIL_ENTRY ->
 *       InvalidVpRegisterValue, anything else -> UnsupportedFeature (FeatureParameter = the KVM
 *       exit reason), a cancel -> Canceled.
 *
 * WHP leaves an I/O or memory access to the VMM: the processor stops at the instruction, the VMM
 * emulates it (writes RAX for `in`, the destination register for a read) and advances RIP itself.
 * KVM instead finishes the instruction in the next KVM_RUN. So on such an exit the double lets KVM
 * finish it at once (KVM_RUN with immediate_exit, which completes the pending I/O and returns
 * EINTR without entering the guest) and puts the general registers back as they were before the
 * instruction: the VMM then sees exactly WHP's state. Instruction bytes come from guest memory at
 * CS:RIP, translated with KVM_TRANSLATE.
 *
 * Cancellation: WHvCancelRunVirtualProcessor sets kvm_run.immediate_exit and sends the running
 * thread a real-time signal (GLINT_WHP_DOUBLE_SIGNAL, default 41) whose handler does nothing, so
 * KVM_RUN returns EINTR; the run then reports WHvRunVpExitReasonCanceled. A cancel while no run is
 * in progress is kept for the next run.
 *
 * Limits of the double (documented in docs/whp-backend.md): mappings must be executable (KVM has
 * no per-slot no-execute); unmaps must name a whole mapping (PartialUnmap is reported absent); a
 * dirty-bitmap query must lie inside one mapping; registers outside whp_abi.h's list answer
 * WHV_E_INVALID_VP_REGISTER_NAME; string I/O exits carry one item each.
 */
#define _GNU_SOURCE
#include "whp_abi.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define PAGE 4096ULL
#define MAX_RANGES 256
#define MAX_VPS 64
#define MAGIC 0x57485044u /* "WHPD" */

struct range {
  int used;
  UINT64 gpa, size;
  void *host;
  UINT32 flags;
  UINT64 *dirty; /* pages dirtied and not yet reported (TrackDirtyPages only) */
};

struct vp {
  int fd;
  struct kvm_run *run;
  size_t run_size;
  pthread_mutex_t lock; /* guards tid and cancel against WHvCancelRunVirtualProcessor */
  pid_t tid;            /* the thread inside WHvRunVirtualProcessor, or 0 */
  int cancel;           /* a cancel is pending */
};

struct partition {
  UINT32 magic;
  int vm_fd;
  int setup;
  UINT32 processor_count;
  pthread_mutex_t lock;
  struct range ranges[MAX_RANGES];
  struct vp *vps[MAX_VPS];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct partition *registry[1024];
static int kick_signal;
static struct kvm_cpuid2 *supported_cpuid;
static int mmap_size;

static void noop_handler(int sig) { (void)sig; }

static HRESULT from_errno(int e) {
  switch (e) {
  case ENOMEM: return E_OUTOFMEMORY;
  case EACCES: case EPERM: return E_ACCESSDENIED;
  case EINVAL: return E_INVALIDARG;
  default: return E_FAIL;
  }
}

static int open_kvm(void) { return open("/dev/kvm", O_RDWR | O_CLOEXEC); }

/* One-time set-up: the kick signal's handler, the supported CPUID, the kvm_run size. */
static HRESULT global_init(void) {
  static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
  static HRESULT result = 1;
  pthread_mutex_lock(&once);
  if (result != 1) {
    pthread_mutex_unlock(&once);
    return result;
  }
  result = E_FAIL;
  const char *configured = getenv("GLINT_WHP_DOUBLE_SIGNAL");
  int sig = configured ? atoi(configured) : SIGRTMIN + 7;
  struct sigaction old;
  if (sig < SIGRTMIN || sig > SIGRTMAX || sigaction(sig, NULL, &old) != 0) {
    fprintf(stderr, "whp double: signal %d is not a real-time signal\n", sig);
    goto out;
  }
  if (old.sa_handler != SIG_DFL && old.sa_handler != noop_handler) {
    fprintf(stderr, "whp double: signal %d already has a handler; set GLINT_WHP_DOUBLE_SIGNAL\n",
            sig);
    goto out;
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = noop_handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(sig, &action, NULL) != 0) goto out;
  kick_signal = sig;
  int kvm = open_kvm();
  if (kvm < 0) {
    result = from_errno(errno);
    goto out;
  }
  mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  int entries = 256;
  supported_cpuid = calloc(1, sizeof(struct kvm_cpuid2) + entries * sizeof(struct kvm_cpuid_entry2));
  supported_cpuid->nent = entries;
  if (mmap_size <= 0 || ioctl(kvm, KVM_GET_SUPPORTED_CPUID, supported_cpuid) < 0) {
    close(kvm);
    goto out;
  }
  close(kvm);
  result = S_OK;
out:
  pthread_mutex_unlock(&once);
  return result;
}

static struct partition *lookup(WHV_PARTITION_HANDLE handle) {
  struct partition *found = NULL;
  pthread_mutex_lock(&registry_lock);
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
    if (registry[i] != NULL && registry[i] == handle && registry[i]->magic == MAGIC) {
      found = registry[i];
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
  return found;
}

static const struct kvm_cpuid_entry2 *cpuid_entry(UINT32 function) {
  for (UINT32 i = 0; supported_cpuid != NULL && i < supported_cpuid->nent; i++) {
    if (supported_cpuid->entries[i].function == function) return &supported_cpuid->entries[i];
  }
  return NULL;
}

EXPORT HRESULT WHvGetCapability(UINT32 code, void *buffer, UINT32 size, UINT32 *written) {
  if (buffer == NULL && size != 0) return E_POINTER;
  UINT64 value64;
  UINT32 value32;
  const void *value;
  UINT32 length;
  switch (code) {
  case WHvCapabilityCodeHypervisorPresent: {
    int kvm = open_kvm();
    value32 = kvm >= 0 && ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
    if (kvm >= 0) close(kvm);
    value = &value32;
    length = 4;
    break;
  }
  case WHvCapabilityCodeFeatures: {
    int kvm = open_kvm();
    value64 = 0;
    /* KVM_GET_DIRTY_LOG is part of every KVM; nothing else of the list is offered. */
    if (kvm >= 0) {
      value64 |= WHV_CAPABILITY_FEATURES_DIRTY_PAGE_TRACKING;
      close(kvm);
    }
    value = &value64;
    length = 8;
    break;
  }
  case WHvCapabilityCodeProcessorVendor: {
    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(0, &a, &b, &c, &d);
    value32 = b == 0x756e6547 /* Genu */ ? WHvProcessorVendorIntel
              : b == 0x6f677948 /* Hygo */ ? WHvProcessorVendorHygon
                                           : WHvProcessorVendorAmd;
    value = &value32;
    length = 4;
    break;
  }
  case WHvCapabilityCodeProcessorFeatures: {
    HRESULT hr = global_init();
    if (hr != S_OK) return hr;
    const struct kvm_cpuid_entry2 *leaf1 = cpuid_entry(1);
    const struct kvm_cpuid_entry2 *ext1 = cpuid_entry(0x80000001);
    UINT32 ecx = leaf1 ? leaf1->ecx : 0, ext_ecx = ext1 ? ext1->ecx : 0,
           ext_edx = ext1 ? ext1->edx : 0;
    value64 = 0;
    if (ecx & (1u << 0)) value64 |= WHV_PROCESSOR_FEATURES_SSE3;
    if (ext_ecx & (1u << 0)) value64 |= WHV_PROCESSOR_FEATURES_LAHF_SAHF;
    if (ecx & (1u << 9)) value64 |= WHV_PROCESSOR_FEATURES_SSSE3;
    if (ecx & (1u << 19)) value64 |= WHV_PROCESSOR_FEATURES_SSE4_1;
    if (ecx & (1u << 20)) value64 |= WHV_PROCESSOR_FEATURES_SSE4_2;
    if (ecx & (1u << 23)) value64 |= WHV_PROCESSOR_FEATURES_POPCNT;
    if (ecx & (1u << 13)) value64 |= WHV_PROCESSOR_FEATURES_CMPXCHG16B;
    if (ext_ecx & (1u << 5)) value64 |= WHV_PROCESSOR_FEATURES_LZCNT;
    if (ext_edx & (1u << 26)) value64 |= WHV_PROCESSOR_FEATURES_PAGE_1GB;
    if (ecx & (1u << 25)) value64 |= WHV_PROCESSOR_FEATURES_AES;
    if (ecx & (1u << 1)) value64 |= WHV_PROCESSOR_FEATURES_PCLMULQDQ;
    if (ecx & (1u << 30)) value64 |= WHV_PROCESSOR_FEATURES_RDRAND;
    value = &value64;
    length = 8;
    break;
  }
  default:
    return WHV_E_UNKNOWN_CAPABILITY;
  }
  if (written != NULL) *written = length;
  if (size < length) return WHV_E_INSUFFICIENT_BUFFER;
  memcpy(buffer, value, length);
  return S_OK;
}

EXPORT HRESULT WHvCreatePartition(WHV_PARTITION_HANDLE *handle) {
  if (handle == NULL) return E_POINTER;
  HRESULT hr = global_init();
  if (hr != S_OK) return hr;
  int kvm = open_kvm();
  if (kvm < 0) return from_errno(errno);
  int vm;
  do {
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
  } while (vm < 0 && errno == EINTR);
  int e = errno;
  close(kvm);
  if (vm < 0) return from_errno(e);
  struct partition *p = calloc(1, sizeof *p);
  if (p == NULL) {
    close(vm);
    return E_OUTOFMEMORY;
  }
  p->magic = MAGIC;
  p->vm_fd = vm;
  pthread_mutex_init(&p->lock, NULL);
  pthread_mutex_lock(&registry_lock);
  size_t i;
  for (i = 0; i < sizeof registry / sizeof registry[0] && registry[i] != NULL; i++) {
  }
  if (i == sizeof registry / sizeof registry[0]) {
    pthread_mutex_unlock(&registry_lock);
    close(vm);
    free(p);
    return E_OUTOFMEMORY;
  }
  registry[i] = p;
  pthread_mutex_unlock(&registry_lock);
  *handle = p;
  return S_OK;
}

EXPORT HRESULT WHvSetPartitionProperty(WHV_PARTITION_HANDLE handle, UINT32 code,
                                       const void *buffer, UINT32 size) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if (buffer == NULL) return E_POINTER;
  switch (code) {
  case WHvPartitionPropertyCodeProcessorCount: {
    if (size < sizeof(UINT32)) return WHV_E_INSUFFICIENT_BUFFER;
    UINT32 count;
    memcpy(&count, buffer, sizeof count);
    if (count == 0 || count > MAX_VPS) return E_INVALIDARG;
    if (p->setup) return WHV_E_INVALID_PARTITION_CONFIG; /* fixed once set up */
    p->processor_count = count;
    return S_OK;
  }
  default:
    return WHV_E_UNKNOWN_PROPERTY;
  }
}

EXPORT HRESULT WHvGetPartitionProperty(WHV_PARTITION_HANDLE handle, UINT32 code, void *buffer,
                                       UINT32 size, UINT32 *written) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if (buffer == NULL) return E_POINTER;
  switch (code) {
  case WHvPartitionPropertyCodeProcessorCount:
    if (written != NULL) *written = sizeof(UINT32);
    if (size < sizeof(UINT32)) return WHV_E_INSUFFICIENT_BUFFER;
    memcpy(buffer, &p->processor_count, sizeof(UINT32));
    return S_OK;
  default:
    return WHV_E_UNKNOWN_PROPERTY;
  }
}

EXPORT HRESULT WHvSetupPartition(WHV_PARTITION_HANDLE handle) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  /* The processor count has no default: a partition without one cannot be set up. */
  if (p->setup || p->processor_count == 0) return WHV_E_INVALID_PARTITION_CONFIG;
  p->setup = 1;
  return S_OK;
}

static void delete_vp(struct vp *vp) {
  munmap(vp->run, vp->run_size);
  close(vp->fd);
  pthread_mutex_destroy(&vp->lock);
  free(vp);
}

EXPORT HRESULT WHvDeletePartition(WHV_PARTITION_HANDLE handle) {
  pthread_mutex_lock(&registry_lock);
  struct partition *p = NULL;
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
    if (registry[i] != NULL && registry[i] == handle && registry[i]->magic == MAGIC) {
      p = registry[i];
      registry[i] = NULL;
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
  if (p == NULL) return E_HANDLE;
  for (int i = 0; i < MAX_VPS; i++) {
    if (p->vps[i] != NULL) delete_vp(p->vps[i]);
  }
  for (int i = 0; i < MAX_RANGES; i++) free(p->ranges[i].dirty);
  close(p->vm_fd);
  p->magic = 0;
  pthread_mutex_destroy(&p->lock);
  free(p);
  return S_OK;
}

static int set_slot(struct partition *p, int slot, UINT32 flags, UINT64 gpa, UINT64 size,
                    void *host) {
  struct kvm_userspace_memory_region region = {
      .slot = (UINT32)slot,
      .flags = (size == 0 ? 0
                          : ((flags & WHvMapGpaRangeFlagWrite) ? 0 : KVM_MEM_READONLY) |
                                ((flags & WHvMapGpaRangeFlagTrackDirtyPages)
                                     ? KVM_MEM_LOG_DIRTY_PAGES
                                     : 0)),
      .guest_phys_addr = gpa,
      .memory_size = size,
      .userspace_addr = (UINT64)(uintptr_t)host,
  };
  return ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

EXPORT HRESULT WHvMapGpaRange(WHV_PARTITION_HANDLE handle, void *source, UINT64 gpa, UINT64 size,
                              UINT32 flags) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if (!p->setup) return WHV_E_INVALID_PARTITION_CONFIG;
  if (source == NULL) return E_POINTER;
  if (size == 0 || (size | gpa | (UINT64)(uintptr_t)source) & (PAGE - 1) || gpa + size < gpa)
    return E_INVALIDARG;
  if (flags & ~(UINT32)(WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagWrite |
                        WHvMapGpaRangeFlagExecute | WHvMapGpaRangeFlagTrackDirtyPages))
    return E_INVALIDARG;
  if (!(flags & WHvMapGpaRangeFlagRead)) return E_INVALIDARG;
  /* KVM cannot make guest memory non-executable: refuse rather than ignore the flag. */
  if (!(flags & WHvMapGpaRangeFlagExecute)) return E_NOTIMPL;
  pthread_mutex_lock(&p->lock);
  int free_slot = -1;
  for (int i = 0; i < MAX_RANGES; i++) {
    struct range *r = &p->ranges[i];
    if (!r->used) {
      if (free_slot < 0) free_slot = i;
      continue;
    }
    if (gpa < r->gpa + r->size && r->gpa < gpa + size) {
      pthread_mutex_unlock(&p->lock);
      return E_INVALIDARG; /* overlaps an existing mapping */
    }
  }
  if (free_slot < 0) {
    pthread_mutex_unlock(&p->lock);
    return E_OUTOFMEMORY;
  }
  UINT64 *dirty = NULL;
  if (flags & WHvMapGpaRangeFlagTrackDirtyPages) {
    dirty = calloc((size / PAGE + 63) / 64, 8);
    if (dirty == NULL) {
      pthread_mutex_unlock(&p->lock);
      return E_OUTOFMEMORY;
    }
  }
  if (set_slot(p, free_slot, flags, gpa, size, source) < 0) {
    int e = errno;
    free(dirty);
    pthread_mutex_unlock(&p->lock);
    return from_errno(e);
  }
  p->ranges[free_slot] = (struct range){1, gpa, size, source, flags, dirty};
  pthread_mutex_unlock(&p->lock);
  return S_OK;
}

EXPORT HRESULT WHvUnmapGpaRange(WHV_PARTITION_HANDLE handle, UINT64 gpa, UINT64 size) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if ((gpa | size) & (PAGE - 1)) return E_INVALIDARG;
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < MAX_RANGES; i++) {
    struct range *r = &p->ranges[i];
    if (r->used && r->gpa == gpa && r->size == size) {
      if (set_slot(p, i, 0, gpa, 0, NULL) < 0) {
        int e = errno;
        pthread_mutex_unlock(&p->lock);
        return from_errno(e);
      }
      free(r->dirty);
      memset(r, 0, sizeof *r);
      pthread_mutex_unlock(&p->lock);
      return S_OK;
    }
  }
  pthread_mutex_unlock(&p->lock);
  return WHV_E_GPA_RANGE_NOT_FOUND; /* not a whole mapping: PartialUnmap is not offered */
}

EXPORT HRESULT WHvQueryGpaRangeDirtyBitmap(WHV_PARTITION_HANDLE handle, UINT64 gpa, UINT64 size,
                                           UINT64 *bitmap, UINT32 bitmap_size) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if ((gpa | size) & (PAGE - 1) || size == 0) return E_INVALIDARG;
  UINT64 pages = size / PAGE;
  if (bitmap_size != 0) {
    if (bitmap == NULL) return E_POINTER;
    if ((uintptr_t)bitmap & 7) return E_INVALIDARG;
    if (bitmap_size < (pages + 63) / 64 * 8) return WHV_E_INSUFFICIENT_BUFFER;
  }
  pthread_mutex_lock(&p->lock);
  struct range *r = NULL;
  int slot = -1;
  for (int i = 0; i < MAX_RANGES; i++) {
    struct range *c = &p->ranges[i];
    if (c->used && gpa >= c->gpa && gpa + size <= c->gpa + c->size) {
      r = c;
      slot = i;
      break;
    }
  }
  if (r == NULL || r->dirty == NULL) {
    pthread_mutex_unlock(&p->lock);
    return WHV_E_GPA_RANGE_NOT_FOUND;
  }
  /* KVM_GET_DIRTY_LOG returns and clears KVM's log of the whole slot: fold it into the pending
   * set, then hand out (and clear) the requested part. */
  UINT64 words = (r->size / PAGE + 63) / 64;
  UINT64 *log = calloc(words, 8);
  if (log == NULL) {
    pthread_mutex_unlock(&p->lock);
    return E_OUTOFMEMORY;
  }
  struct kvm_dirty_log request = {.slot = (UINT32)slot};
  request.dirty_bitmap = log;
  if (ioctl(p->vm_fd, KVM_GET_DIRTY_LOG, &request) < 0) {
    int e = errno;
    free(log);
    pthread_mutex_unlock(&p->lock);
    return from_errno(e);
  }
  for (UINT64 i = 0; i < words; i++) r->dirty[i] |= log[i];
  free(log);
  if (bitmap_size != 0) memset(bitmap, 0, (pages + 63) / 64 * 8);
  UINT64 first = (gpa - r->gpa) / PAGE;
  for (UINT64 i = 0; i < pages; i++) {
    UINT64 page = first + i;
    if (r->dirty[page / 64] & (1ULL << (page % 64))) {
      r->dirty[page / 64] &= ~(1ULL << (page % 64));
      if (bitmap_size != 0) bitmap[i / 64] |= 1ULL << (i % 64);
    }
  }
  pthread_mutex_unlock(&p->lock);
  return S_OK;
}

static struct vp *vp_of(struct partition *p, UINT32 index) {
  return index < MAX_VPS ? p->vps[index] : NULL;
}

EXPORT HRESULT WHvCreateVirtualProcessor(WHV_PARTITION_HANDLE handle, UINT32 index,
                                         UINT32 flags) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if (flags != 0) return E_INVALIDARG;
  if (!p->setup) return WHV_E_INVALID_PARTITION_CONFIG;
  if (index >= p->processor_count) return E_INVALIDARG;
  pthread_mutex_lock(&p->lock);
  if (p->vps[index] != NULL) {
    pthread_mutex_unlock(&p->lock);
    return WHV_E_VP_ALREADY_EXISTS;
  }
  int fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
  if (fd < 0) {
    int e = errno;
    pthread_mutex_unlock(&p->lock);
    return from_errno(e);
  }
  struct kvm_run *run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED || ioctl(fd, KVM_SET_CPUID2, supported_cpuid) < 0) {
    int e = errno;
    if (run != MAP_FAILED) munmap(run, mmap_size);
    close(fd);
    pthread_mutex_unlock(&p->lock);
    return from_errno(e);
  }
  struct vp *vp = calloc(1, sizeof *vp);
  vp->fd = fd;
  vp->run = run;
  vp->run_size = mmap_size;
  pthread_mutex_init(&vp->lock, NULL);
  p->vps[index] = vp;
  pthread_mutex_unlock(&p->lock);
  return S_OK;
}

EXPORT HRESULT WHvDeleteVirtualProcessor(WHV_PARTITION_HANDLE handle, UINT32 index) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  pthread_mutex_lock(&p->lock);
  struct vp *vp = vp_of(p, index);
  if (vp == NULL) {
    pthread_mutex_unlock(&p->lock);
    return WHV_E_VP_DOES_NOT_EXIST;
  }
  p->vps[index] = NULL;
  pthread_mutex_unlock(&p->lock);
  delete_vp(vp);
  return S_OK;
}

/* ---- registers ---- */

static void segment_to_whp(const struct kvm_segment *k, WHV_X64_SEGMENT_REGISTER *w) {
  w->Base = k->base;
  w->Limit = k->limit;
  w->Selector = k->selector;
  w->Attributes = (UINT16)((k->type & 0xF) | (k->s ? WHV_X64_SEGMENT_NON_SYSTEM : 0) |
                           ((k->dpl & 3) << WHV_X64_SEGMENT_DPL_SHIFT) |
                           (k->present && !k->unusable ? WHV_X64_SEGMENT_PRESENT : 0) |
                           (k->avl ? WHV_X64_SEGMENT_AVAILABLE : 0) |
                           (k->l ? WHV_X64_SEGMENT_LONG : 0) |
                           (k->db ? WHV_X64_SEGMENT_DEFAULT : 0) |
                           (k->g ? WHV_X64_SEGMENT_GRANULARITY : 0));
}

static void segment_from_whp(const WHV_X64_SEGMENT_REGISTER *w, struct kvm_segment *k) {
  UINT16 a = w->Attributes;
  k->base = w->Base;
  k->limit = w->Limit;
  k->selector = w->Selector;
  k->type = a & WHV_X64_SEGMENT_TYPE_MASK;
  k->s = (a & WHV_X64_SEGMENT_NON_SYSTEM) != 0;
  k->dpl = (a >> WHV_X64_SEGMENT_DPL_SHIFT) & 3;
  k->present = (a & WHV_X64_SEGMENT_PRESENT) != 0;
  k->avl = (a & WHV_X64_SEGMENT_AVAILABLE) != 0;
  k->l = (a & WHV_X64_SEGMENT_LONG) != 0;
  k->db = (a & WHV_X64_SEGMENT_DEFAULT) != 0;
  k->g = (a & WHV_X64_SEGMENT_GRANULARITY) != 0;
  /* WHP has no "unusable" bit: a segment that is not present is unusable. */
  k->unusable = !k->present;
}

enum kind { GPR, SREG, FPU, BAD };

static enum kind kind_of(UINT32 name) {
  if (name <= WHvX64RegisterRflags) return GPR;
  if (name <= WHvX64RegisterCr8) return SREG;
  if (name == WHvX64RegisterEfer || name == WHvX64RegisterApicBase) return SREG;
  if (name >= WHvX64RegisterXmm0 && name <= WHvX64RegisterXmmControlStatus) return FPU;
  return BAD;
}

static UINT64 *gpr(struct kvm_regs *r, UINT32 name) {
  switch (name) {
  case WHvX64RegisterRax: return (UINT64 *)&r->rax;
  case WHvX64RegisterRcx: return (UINT64 *)&r->rcx;
  case WHvX64RegisterRdx: return (UINT64 *)&r->rdx;
  case WHvX64RegisterRbx: return (UINT64 *)&r->rbx;
  case WHvX64RegisterRsp: return (UINT64 *)&r->rsp;
  case WHvX64RegisterRbp: return (UINT64 *)&r->rbp;
  case WHvX64RegisterRsi: return (UINT64 *)&r->rsi;
  case WHvX64RegisterRdi: return (UINT64 *)&r->rdi;
  case WHvX64RegisterR8: return (UINT64 *)&r->r8;
  case WHvX64RegisterR9: return (UINT64 *)&r->r9;
  case WHvX64RegisterR10: return (UINT64 *)&r->r10;
  case WHvX64RegisterR11: return (UINT64 *)&r->r11;
  case WHvX64RegisterR12: return (UINT64 *)&r->r12;
  case WHvX64RegisterR13: return (UINT64 *)&r->r13;
  case WHvX64RegisterR14: return (UINT64 *)&r->r14;
  case WHvX64RegisterR15: return (UINT64 *)&r->r15;
  case WHvX64RegisterRip: return (UINT64 *)&r->rip;
  default: return (UINT64 *)&r->rflags;
  }
}

static struct kvm_segment *segment(struct kvm_sregs *s, UINT32 name) {
  switch (name) {
  case WHvX64RegisterEs: return &s->es;
  case WHvX64RegisterCs: return &s->cs;
  case WHvX64RegisterSs: return &s->ss;
  case WHvX64RegisterDs: return &s->ds;
  case WHvX64RegisterFs: return &s->fs;
  case WHvX64RegisterGs: return &s->gs;
  case WHvX64RegisterLdtr: return &s->ldt;
  case WHvX64RegisterTr: return &s->tr;
  default: return NULL;
  }
}

static UINT64 *control(struct kvm_sregs *s, UINT32 name) {
  switch (name) {
  case WHvX64RegisterCr0: return (UINT64 *)&s->cr0;
  case WHvX64RegisterCr2: return (UINT64 *)&s->cr2;
  case WHvX64RegisterCr3: return (UINT64 *)&s->cr3;
  case WHvX64RegisterCr4: return (UINT64 *)&s->cr4;
  case WHvX64RegisterCr8: return (UINT64 *)&s->cr8;
  case WHvX64RegisterEfer: return (UINT64 *)&s->efer;
  case WHvX64RegisterApicBase: return (UINT64 *)&s->apic_base;
  default: return NULL;
  }
}

static void sreg_get(struct kvm_sregs *s, UINT32 name, WHV_REGISTER_VALUE *v) {
  memset(v, 0, sizeof *v);
  struct kvm_segment *seg = segment(s, name);
  if (seg != NULL) {
    segment_to_whp(seg, &v->Segment);
  } else if (name == WHvX64RegisterIdtr || name == WHvX64RegisterGdtr) {
    struct kvm_dtable *t = name == WHvX64RegisterIdtr ? &s->idt : &s->gdt;
    v->Table.Limit = t->limit;
    v->Table.Base = t->base;
  } else {
    v->Reg64 = *control(s, name);
  }
}

static void sreg_set(struct kvm_sregs *s, UINT32 name, const WHV_REGISTER_VALUE *v) {
  struct kvm_segment *seg = segment(s, name);
  if (seg != NULL) {
    segment_from_whp(&v->Segment, seg);
  } else if (name == WHvX64RegisterIdtr || name == WHvX64RegisterGdtr) {
    struct kvm_dtable *t = name == WHvX64RegisterIdtr ? &s->idt : &s->gdt;
    t->limit = v->Table.Limit;
    t->base = v->Table.Base;
  } else {
    *control(s, name) = v->Reg64;
  }
}

/* kvm_fpu: fpr[8][16] (80-bit values), fcw, fsw, ftwx (abridged), last_opcode, last_ip,
 * last_dp, xmm[16][16], mxcsr. */
static void fpu_get(struct kvm_fpu *f, UINT32 name, WHV_REGISTER_VALUE *v) {
  memset(v, 0, sizeof *v);
  if (name <= WHvX64RegisterXmm15) {
    memcpy(v, f->xmm[name - WHvX64RegisterXmm0], 16);
  } else if (name <= WHvX64RegisterFpMmx7) {
    memcpy(v, f->fpr[name - WHvX64RegisterFpMmx0], 10);
  } else if (name == WHvX64RegisterFpControlStatus) {
    v->FpControlStatus.FpControl = f->fcw;
    v->FpControlStatus.FpStatus = f->fsw;
    v->FpControlStatus.FpTag = f->ftwx;
    v->FpControlStatus.LastFpOp = f->last_opcode;
    v->FpControlStatus.LastFpRip = f->last_ip;
  } else {
    v->XmmControlStatus.LastFpRdp = f->last_dp;
    v->XmmControlStatus.XmmStatusControl = f->mxcsr;
    v->XmmControlStatus.XmmStatusControlMask = 0xFFFF; /* MXCSR_MASK of SSE2 processors */
  }
}

static void fpu_set(struct kvm_fpu *f, UINT32 name, const WHV_REGISTER_VALUE *v) {
  if (name <= WHvX64RegisterXmm15) {
    memcpy(f->xmm[name - WHvX64RegisterXmm0], v, 16);
  } else if (name <= WHvX64RegisterFpMmx7) {
    memset(f->fpr[name - WHvX64RegisterFpMmx0], 0, 16);
    memcpy(f->fpr[name - WHvX64RegisterFpMmx0], v, 10);
  } else if (name == WHvX64RegisterFpControlStatus) {
    f->fcw = v->FpControlStatus.FpControl;
    f->fsw = v->FpControlStatus.FpStatus;
    f->ftwx = v->FpControlStatus.FpTag;
    f->last_opcode = v->FpControlStatus.LastFpOp;
    f->last_ip = v->FpControlStatus.LastFpRip;
  } else {
    f->last_dp = v->XmmControlStatus.LastFpRdp;
    f->mxcsr = v->XmmControlStatus.XmmStatusControl;
  }
}

static HRESULT registers(WHV_PARTITION_HANDLE handle, UINT32 index, const UINT32 *names,
                         UINT32 count, WHV_REGISTER_VALUE *values, int set) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  struct vp *vp = vp_of(p, index);
  if (vp == NULL) return WHV_E_VP_DOES_NOT_EXIST;
  if (count == 0) return S_OK;
  if (names == NULL || values == NULL) return E_POINTER;
  /* WHV_REGISTER_VALUE is declared 16-byte aligned. */
  if ((uintptr_t)values & 15) return E_INVALIDARG;
  int need[3] = {0, 0, 0};
  for (UINT32 i = 0; i < count; i++) {
    enum kind k = kind_of(names[i]);
    if (k == BAD) return WHV_E_INVALID_VP_REGISTER_NAME;
    need[k] = 1;
  }
  struct kvm_regs regs;
  struct kvm_sregs sregs;
  struct kvm_fpu fpu;
  if ((need[GPR] && ioctl(vp->fd, KVM_GET_REGS, &regs) < 0) ||
      (need[SREG] && ioctl(vp->fd, KVM_GET_SREGS, &sregs) < 0) ||
      (need[FPU] && ioctl(vp->fd, KVM_GET_FPU, &fpu) < 0))
    return from_errno(errno);
  for (UINT32 i = 0; i < count; i++) {
    UINT32 name = names[i];
    switch (kind_of(name)) {
    case GPR:
      if (set) {
        *gpr(&regs, name) = values[i].Reg64;
      } else {
        memset(&values[i], 0, sizeof values[i]);
        values[i].Reg64 = *gpr(&regs, name);
      }
      break;
    case SREG:
      if (set) sreg_set(&sregs, name, &values[i]);
      else sreg_get(&sregs, name, &values[i]);
      break;
    case FPU:
      if (set) fpu_set(&fpu, name, &values[i]);
      else fpu_get(&fpu, name, &values[i]);
      break;
    default:
      break;
    }
  }
  if (set && ((need[GPR] && ioctl(vp->fd, KVM_SET_REGS, &regs) < 0) ||
              (need[SREG] && ioctl(vp->fd, KVM_SET_SREGS, &sregs) < 0) ||
              (need[FPU] && ioctl(vp->fd, KVM_SET_FPU, &fpu) < 0)))
    return from_errno(errno);
  return S_OK;
}

EXPORT HRESULT WHvGetVirtualProcessorRegisters(WHV_PARTITION_HANDLE handle, UINT32 index,
                                               const UINT32 *names, UINT32 count,
                                               WHV_REGISTER_VALUE *values) {
  return registers(handle, index, names, count, values, 0);
}

EXPORT HRESULT WHvSetVirtualProcessorRegisters(WHV_PARTITION_HANDLE handle, UINT32 index,
                                               const UINT32 *names, UINT32 count,
                                               const WHV_REGISTER_VALUE *values) {
  return registers(handle, index, names, count, (WHV_REGISTER_VALUE *)values, 1);
}

/* ---- guest memory ---- */

static void *host_address(struct partition *p, UINT64 gpa) {
  for (int i = 0; i < MAX_RANGES; i++) {
    struct range *r = &p->ranges[i];
    if (r->used && gpa >= r->gpa && gpa < r->gpa + r->size)
      return (char *)r->host + (gpa - r->gpa);
  }
  return NULL;
}

static int translate(struct vp *vp, UINT64 linear, UINT64 *gpa) {
  struct kvm_translation t = {.linear_address = linear};
  if (ioctl(vp->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) return -1;
  *gpa = t.physical_address;
  return 0;
}

EXPORT HRESULT WHvTranslateGva(WHV_PARTITION_HANDLE handle, UINT32 index, UINT64 gva,
                               UINT32 flags, WHV_TRANSLATE_GVA_RESULT *result, UINT64 *gpa) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  struct vp *vp = vp_of(p, index);
  if (vp == NULL) return WHV_E_VP_DOES_NOT_EXIST;
  if (result == NULL || gpa == NULL) return E_POINTER;
  (void)flags; /* KVM_TRANSLATE walks the tables without access checks */
  struct kvm_translation t = {.linear_address = gva};
  if (ioctl(vp->fd, KVM_TRANSLATE, &t) < 0) return from_errno(errno);
  result->Reserved = 0;
  if (!t.valid) {
    result->ResultCode = WHvTranslateGvaResultPageNotPresent;
    return S_OK;
  }
  *gpa = t.physical_address;
  pthread_mutex_lock(&p->lock);
  result->ResultCode = host_address(p, t.physical_address) != NULL
                           ? WHvTranslateGvaResultSuccess
                           : WHvTranslateGvaResultGpaUnmapped;
  pthread_mutex_unlock(&p->lock);
  return S_OK;
}

/* ---- running ---- */

static UINT16 execution_state(const struct kvm_sregs *s) {
  UINT16 state = s->ss.dpl & 3; /* the CPL is SS.DPL (CS.DPL but for conforming code) */
  if (s->cr0 & 1) state |= WHV_X64_VP_EXECUTION_STATE_CR0_PE;
  if (s->cr0 & (1u << 18)) state |= WHV_X64_VP_EXECUTION_STATE_CR0_AM;
  if (s->efer & (1u << 10)) state |= WHV_X64_VP_EXECUTION_STATE_EFER_LMA;
  return state;
}

/* The length of an in/out/ins/outs instruction: prefixes, the opcode and an imm8 port. */
static int io_length(const UINT8 *bytes, int count, int *rep, UINT8 *opcode) {
  int i = 0;
  *rep = 0;
  *opcode = 0;
  while (i < count && i < 15) {
    UINT8 b = bytes[i];
    if (b == 0x66 || b == 0x67 || b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E ||
        b == 0x64 || b == 0x65 || b == 0xF0 || (b >= 0x40 && b <= 0x4F)) {
      i++;
    } else if (b == 0xF2 || b == 0xF3) {
      *rep = 1;
      i++;
    } else {
      break;
    }
  }
  if (i >= count) return 0;
  UINT8 op = bytes[i];
  *opcode = op;
  if (op >= 0xE4 && op <= 0xE7) return i + 2;
  if ((op >= 0xEC && op <= 0xEF) || (op >= 0x6C && op <= 0x6F)) return i + 1;
  return 0;
}

/*
 * Lets KVM finish the I/O or MMIO instruction it exited for (answering reads with zero) without
 * entering the guest: a KVM_RUN with immediate_exit completes the pending I/O and returns EINTR.
 * The caller then puts the registers back to what WHP would show.
 */
static HRESULT complete_in_kvm(struct vp *vp) {
  for (int rounds = 0; rounds < 64; rounds++) {
    if (vp->run->exit_reason == KVM_EXIT_IO && vp->run->io.direction == KVM_EXIT_IO_IN) {
      memset((char *)vp->run + vp->run->io.data_offset, 0,
             (size_t)vp->run->io.size * vp->run->io.count);
    } else if (vp->run->exit_reason == KVM_EXIT_MMIO && !vp->run->mmio.is_write) {
      memset(vp->run->mmio.data, 0, sizeof vp->run->mmio.data);
    }
    pthread_mutex_lock(&vp->lock);
    vp->run->immediate_exit = 1;
    pthread_mutex_unlock(&vp->lock);
    int r = ioctl(vp->fd, KVM_RUN, 0);
    int e = errno;
    pthread_mutex_lock(&vp->lock);
    vp->run->immediate_exit = vp->cancel; /* a pending cancel keeps it set */
    pthread_mutex_unlock(&vp->lock);
    if (r < 0 && e == EINTR) return S_OK;
    if (r < 0) return from_errno(e);
    if (vp->run->exit_reason != KVM_EXIT_IO && vp->run->exit_reason != KVM_EXIT_MMIO)
      return E_UNEXPECTED;
    /* A split access asked for more: answer that too. */
  }
  return E_UNEXPECTED;
}

/* The code size of CS: 64, 32 or 16 bits. */
static int code_bits(const struct kvm_sregs *s) {
  if ((s->efer & (1u << 10)) && s->cs.l) return 64;
  return s->cs.db ? 32 : 16;
}

/*
 * The length of a MOV that stores to memory (88, 89, C6, C7, A2, A3 with their prefixes) starting
 * at b[0] in a `bits`-bit code segment, and its access size; 0 if it is not one.
 */
static int store_length(const UINT8 *b, int n, int bits, int *size) {
  int i = 0, osz = bits == 16 ? 2 : 4, asz = bits, rexw = 0;
  for (; i < n; i++) {
    UINT8 x = b[i];
    if (x == 0x66) osz = bits == 16 ? 4 : 2;
    else if (x == 0x67) asz = bits == 64 ? 32 : bits == 32 ? 16 : 32;
    else if (x == 0x26 || x == 0x2E || x == 0x36 || x == 0x3E || x == 0x64 || x == 0x65) continue;
    else break;
  }
  if (bits == 64 && i < n && b[i] >= 0x40 && b[i] <= 0x4F) {
    rexw = (b[i] & 8) != 0;
    i++;
  }
  if (i >= n) return 0;
  if (rexw) osz = 8;
  UINT8 op = b[i++];
  if (op == 0xA2 || op == 0xA3) {
    *size = op == 0xA2 ? 1 : osz;
    return i + asz / 8;
  }
  if (op != 0x88 && op != 0x89 && op != 0xC6 && op != 0xC7) return 0;
  if (i >= n) return 0;
  UINT8 modrm = b[i++];
  int mod = modrm >> 6, rm = modrm & 7;
  if (mod == 3) return 0;
  if ((op == 0xC6 || op == 0xC7) && ((modrm >> 3) & 7) != 0) return 0;
  if (asz == 16) {
    i += mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
  } else {
    if (rm == 4) {
      if (i >= n) return 0;
      UINT8 sib = b[i++];
      if (mod == 0 && (sib & 7) == 5) i += 4;
    }
    i += mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 5) ? 4 : 0;
  }
  *size = op == 0x88 || op == 0xC6 ? 1 : osz;
  if (op == 0xC6) i += 1;
  if (op == 0xC7) i += osz == 2 ? 2 : 4;
  return i;
}

/* Reads n bytes of guest memory at a linear address; returns how many it could. */
static int read_linear(struct partition *p, struct vp *vp, UINT64 linear, UINT8 *out, int n) {
  int count = 0;
  pthread_mutex_lock(&p->lock);
  while (count < n) {
    UINT64 gpa;
    if (translate(vp, linear + count, &gpa) < 0) break;
    UINT8 *host = host_address(p, gpa);
    if (host == NULL) break;
    int chunk = (int)(PAGE - (gpa & (PAGE - 1)));
    if (chunk > n - count) chunk = n - count;
    memcpy(out + count, host, chunk);
    count += chunk;
  }
  pthread_mutex_unlock(&p->lock);
  return count;
}

/*
 * KVM has already moved RIP past the instruction (an emulated `out`, or an MMIO store): finds
 * where it began by decoding backwards from `end`: the shortest instruction of the expected kind
 * that ends exactly at `end`. Returns its length, or 0.
 */
static int length_before(struct partition *p, struct vp *vp, UINT64 cs_base, UINT64 end,
                         int bits, int io_out, int port, int size) {
  UINT8 bytes[15];
  int have = read_linear(p, vp, cs_base + end - 15, bytes, 15);
  int offset = 0;
  if (have < 15) {
    /* the bytes before the instruction's page may be unmapped: use its page only */
    UINT64 page_start = (cs_base + end - 1) & ~(PAGE - 1);
    int n = (int)(cs_base + end - page_start);
    if (n > 15) n = 15;
    offset = 15 - n;
    if (read_linear(p, vp, cs_base + end - n, bytes + offset, n) < n) return 0;
  }
  for (int k = 1; k <= 15 - offset; k++) {
    const UINT8 *b = bytes + 15 - k;
    if (io_out) {
      int rep;
      UINT8 op;
      if (io_length(b, k, &rep, &op) != k) continue;
      int forms_port = (op == 0xE6 || op == 0xE7) ? b[k - 1] == port : 1;
      int op_size = op == 0xE6 || op == 0xEE || op == 0x6E ? 1 : 0;
      if ((op == 0xE6 || op == 0xE7 || op == 0xEE || op == 0xEF || op == 0x6E || op == 0x6F) &&
          forms_port && (op_size == 0 || size == 1) && (op_size == 1 || size != 1))
        return k;
    } else {
      int store_size;
      if (store_length(b, k, bits, &store_size) == k && store_size == size) return k;
    }
  }
  return 0;
}

static HRESULT fill_vp_context(struct vp *vp, WHV_RUN_VP_EXIT_CONTEXT *c, struct kvm_regs *regs,
                               struct kvm_sregs *sregs) {
  if (ioctl(vp->fd, KVM_GET_REGS, regs) < 0 || ioctl(vp->fd, KVM_GET_SREGS, sregs) < 0)
    return from_errno(errno);
  c->VpContext.ExecutionState = execution_state(sregs);
  c->VpContext.InstructionLengthCr8 = (UINT8)((sregs->cr8 & 0xF) << 4);
  segment_to_whp(&sregs->cs, &c->VpContext.Cs);
  c->VpContext.Rip = regs->rip;
  c->VpContext.Rflags = regs->rflags;
  return S_OK;
}

static int gpa_mapped(struct partition *p, UINT64 gpa) {
  pthread_mutex_lock(&p->lock);
  int mapped = host_address(p, gpa) != NULL;
  pthread_mutex_unlock(&p->lock);
  return mapped;
}

EXPORT HRESULT WHvRunVirtualProcessor(WHV_PARTITION_HANDLE handle, UINT32 index, void *context,
                                      UINT32 size) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  struct vp *vp = vp_of(p, index);
  if (vp == NULL) return WHV_E_VP_DOES_NOT_EXIST;
  if (context == NULL) return E_POINTER;
  if (size < sizeof(WHV_RUN_VP_EXIT_CONTEXT)) return WHV_E_INSUFFICIENT_BUFFER;
  WHV_RUN_VP_EXIT_CONTEXT *c = context;
  memset(c, 0, sizeof *c);
  struct kvm_regs regs;
  struct kvm_sregs sregs;
  pthread_mutex_lock(&vp->lock);
  if (vp->tid != 0) {
    pthread_mutex_unlock(&vp->lock);
    return WHV_E_INVALID_VP_STATE; /* already running on another thread */
  }
  vp->tid = (pid_t)syscall(SYS_gettid);
  pthread_mutex_unlock(&vp->lock);
  HRESULT hr = S_OK;
  for (;;) {
    int r = ioctl(vp->fd, KVM_RUN, 0);
    int e = errno;
    if (r < 0 && e == EINTR) {
      pthread_mutex_lock(&vp->lock);
      int cancelled = vp->cancel;
      if (cancelled) {
        vp->cancel = 0;
        vp->run->immediate_exit = 0;
      }
      pthread_mutex_unlock(&vp->lock);
      if (!cancelled) continue; /* someone else's signal */
      c->ExitReason = WHvRunVpExitReasonCanceled;
      c->CancelReason.CancelReason = WHvRunVpCancelReasonUser;
      hr = fill_vp_context(vp, c, &regs, &sregs);
      break;
    }
    if (r < 0) {
      hr = from_errno(e);
      break;
    }
    struct kvm_run *run = vp->run;
    if ((hr = fill_vp_context(vp, c, &regs, &sregs)) != S_OK) break;
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      WHV_X64_IO_PORT_ACCESS_CONTEXT *io = &c->IoPortAccess;
      struct kvm_regs at_exit = regs, after;
      int out = run->io.direction == KVM_EXIT_IO_OUT, port = run->io.port, size = run->io.size;
      int bits = code_bits(&sregs);
      UINT8 bytes[16];
      int rep = 0, string;
      UINT8 op = 0;
      int count = read_linear(p, vp, sregs.cs.base + at_exit.rip, bytes, 16);
      int length = io_length(bytes, count, &rep, &op);
      string = (op == 0x6C || op == 0x6D || op == 0x6E || op == 0x6F);
      if ((hr = complete_in_kvm(vp)) != S_OK) break;
      if (ioctl(vp->fd, KVM_GET_REGS, &after) < 0) {
        hr = from_errno(errno);
        break;
      }
      struct kvm_regs before = at_exit;
      if (out && after.rip == at_exit.rip && !(string && length > 0)) {
        /* KVM's emulator already completed this `out` (or the last item of a string one):
         * RIP is past it. */
        length = length_before(p, vp, sregs.cs.base, at_exit.rip, bits, 1, port, size);
        before.rip = at_exit.rip - length;
        count = read_linear(p, vp, sregs.cs.base + before.rip, bytes, 16);
        io_length(bytes, count, &rep, &op);
        string = (op == 0x6E || op == 0x6F);
      }
      if (out && string && after.rip == at_exit.rip) {
        /* The emulator also moved RSI and counted RCX down for the item: take that back. */
        int step = (at_exit.rflags & (1u << 10)) ? -size : size;
        before.rsi -= step;
        if (rep) before.rcx += 1;
      }
      if (ioctl(vp->fd, KVM_SET_REGS, &before) < 0) {
        hr = from_errno(errno);
        break;
      }
      c->ExitReason = WHvRunVpExitReasonX64IoPortAccess;
      c->VpContext.Rip = before.rip;
      c->VpContext.InstructionLengthCr8 |= (UINT8)(length & 0xF);
      io->InstructionByteCount = (UINT8)count;
      memcpy(io->InstructionBytes, bytes, count);
      io->AccessInfo = (out ? WHV_X64_IO_PORT_ACCESS_INFO_IS_WRITE : 0) |
                       ((UINT32)size << WHV_X64_IO_PORT_ACCESS_INFO_SIZE_SHIFT) |
                       (string ? WHV_X64_IO_PORT_ACCESS_INFO_STRING_OP : 0) |
                       (string && rep ? WHV_X64_IO_PORT_ACCESS_INFO_REP_PREFIX : 0);
      io->PortNumber = (UINT16)port;
      io->Rax = before.rax;
      io->Rcx = before.rcx;
      io->Rsi = before.rsi;
      io->Rdi = before.rdi;
      segment_to_whp(&sregs.ds, &io->Ds);
      segment_to_whp(&sregs.es, &io->Es);
      break;
    }
    case KVM_EXIT_MMIO: {
      WHV_MEMORY_ACCESS_CONTEXT *m = &c->MemoryAccess;
      struct kvm_regs before = regs;
      UINT64 gpa = run->mmio.phys_addr;
      int write = run->mmio.is_write, size = (int)run->mmio.len;
      if ((hr = complete_in_kvm(vp)) != S_OK) break;
      if (write) {
        /* KVM's emulator writes back before it exits for a store: RIP is past the MOV. */
        int length = length_before(p, vp, sregs.cs.base, regs.rip, code_bits(&sregs), 0, 0, size);
        before.rip = regs.rip - length;
      }
      if (ioctl(vp->fd, KVM_SET_REGS, &before) < 0) {
        hr = from_errno(errno);
        break;
      }
      c->ExitReason = WHvRunVpExitReasonMemoryAccess;
      c->VpContext.Rip = before.rip;
      m->InstructionByteCount =
          (UINT8)read_linear(p, vp, sregs.cs.base + before.rip, m->InstructionBytes, 16);
      m->Gpa = gpa;
      m->AccessInfo = (write ? WHvMemoryAccessWrite : WHvMemoryAccessRead) |
                      (gpa_mapped(p, gpa) ? 0 : WHV_MEMORY_ACCESS_INFO_GPA_UNMAPPED);
      break;
    }
    case KVM_EXIT_HLT:
      c->ExitReason = WHvRunVpExitReasonX64Halt;
      break;
    case KVM_EXIT_SHUTDOWN:
      c->ExitReason = WHvRunVpExitReasonUnrecoverableException;
      break;
    case KVM_EXIT_FAIL_ENTRY:
      c->ExitReason = WHvRunVpExitReasonInvalidVpRegisterValue;
      break;
    case KVM_EXIT_INTR:
      continue;
    default:
      c->ExitReason = WHvRunVpExitReasonUnsupportedFeature;
      c->UnsupportedFeature.FeatureCode = WHvUnsupportedFeatureIntercept;
      c->UnsupportedFeature.FeatureParameter = run->exit_reason;
      break;
    }
    break;
  }
  pthread_mutex_lock(&vp->lock);
  vp->tid = 0;
  pthread_mutex_unlock(&vp->lock);
  return hr;
}

EXPORT HRESULT WHvCancelRunVirtualProcessor(WHV_PARTITION_HANDLE handle, UINT32 index,
                                            UINT32 flags) {
  struct partition *p = lookup(handle);
  if (p == NULL) return E_HANDLE;
  if (flags != 0) return E_INVALIDARG;
  struct vp *vp = vp_of(p, index);
  if (vp == NULL) return WHV_E_VP_DOES_NOT_EXIST;
  pthread_mutex_lock(&vp->lock);
  vp->cancel = 1;
  atomic_store((_Atomic UINT8 *)&vp->run->immediate_exit, 1);
  /* Signalled under the lock: tid is only set while the thread is inside the run. */
  if (vp->tid != 0) syscall(SYS_tgkill, getpid(), vp->tid, kick_signal);
  pthread_mutex_unlock(&vp->lock);
  return S_OK;
}
