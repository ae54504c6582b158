package dev.glint.hv.kvm.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.kvm.internal.sys.Errno;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmDirtyRing;
import dev.glint.hv.kvm.internal.sys.KvmEnableCap;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An open {@code /dev/kvm}: creates VMs ({@link KvmPartition}) and guest memory ({@link
 * KvmGuestMemory}).
 *
 * <p><b>Thread safety:</b> thread-safe. <b>Lifetime:</b> registers every partition and guest memory
 * it creates; {@link #close()} closes those still open (partitions first, since they map the
 * memory), then the {@code /dev/kvm} fd. Idempotent.
 */
final class KvmHypervisor implements Hypervisor {
  static final System.Logger LOG = System.getLogger("dev.glint.hv.kvm");

  /** Set to {@code false} to use KVM_GET/SET_REGS/SREGS even where KVM_CAP_SYNC_REGS exists. */
  static final String SYNC_REGS_PROPERTY = "glint.hv.kvm.syncRegs";

  /**
   * How dirty pages are tracked: {@code auto} (the default) uses KVM's dirty ring where KVM has one
   * and privileged guest code runs natively (VMX/SVM), {@code true} uses it wherever KVM has one
   * (PVM included), {@code false} always uses {@code KVM_GET_DIRTY_LOG}. Why PVM is left out by
   * default: see docs/kvm-backend.md, "Dirty pages".
   */
  static final String DIRTY_RING_PROPERTY = "glint.hv.kvm.dirtyRing";

  /** The dirty ring's size in entries of 16 bytes: a power of two, at least 256 (one page). */
  static final String DIRTY_RING_ENTRIES_PROPERTY = "glint.hv.kvm.dirtyRingEntries";

  /**
   * 64 KiB per vCPU: a call that writes up to about 4000 distinct pages (16 MiB) between two
   * harvests never fills it, and a larger one costs one extra exit per ring-full.
   */
  static final int DEFAULT_DIRTY_RING_ENTRIES = 4096;

  /** KVM wants at least a page of entries (and room for its reserve, checked at enable). */
  static final int MIN_DIRTY_RING_ENTRIES = (int) (Partition.PAGE_SIZE / KvmDirtyRing.ENTRY_BYTES);

  private final KvmHost host;
  private final int kvmFd;
  private final boolean useSyncRegs;
  private final int dirtyRingEntries;

  /** The ring size for partitions promised to run guest code at CPL 3 only, when larger. */
  private final int userModeRingEntries;

  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();

  private KvmHypervisor(KvmHost host, int kvmFd, int dirtyRingEntries, int userModeRingEntries) {
    this.host = host;
    this.kvmFd = kvmFd;
    this.useSyncRegs =
        host.syncRegs()
            && Boolean.parseBoolean(System.getProperty(SYNC_REGS_PROPERTY, "true").strip());
    this.dirtyRingEntries = dirtyRingEntries;
    this.userModeRingEntries = userModeRingEntries;
  }

  /**
   * Opens {@code /dev/kvm} with the dirty tracking the system properties choose ({@value
   * #DIRTY_RING_PROPERTY}: a ring of {@value #DIRTY_RING_ENTRIES_PROPERTY} entries, default {@value
   * #DEFAULT_DIRTY_RING_ENTRIES}, or the bitmap).
   *
   * @throws IllegalArgumentException if a property has a value it cannot take
   */
  static KvmHypervisor open(KvmHost host) {
    int entries = dirtyRingEntriesFromProperties(host);
    return open(host, entries, entries > 0 ? entries : userModeRingEntriesFromProperties(host));
  }

  /**
   * Opens {@code /dev/kvm} with an explicit dirty-tracking choice (tests use this to run both paths
   * in one JVM).
   *
   * @param dirtyRingEntries the ring's size in entries, or 0 for {@code KVM_GET_DIRTY_LOG}
   * @throws IllegalArgumentException if the size is not 0 and not valid for this host
   */
  static KvmHypervisor open(KvmHost host, int dirtyRingEntries) {
    return open(host, dirtyRingEntries, dirtyRingEntries);
  }

  private static KvmHypervisor open(KvmHost host, int dirtyRingEntries, int userModeRingEntries) {
    checkDirtyRingEntries(host, dirtyRingEntries, "dirty ring entries");
    int fd = Libc.open(KvmProbe.DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
    if (fd < 0) {
      throw KvmErrors.failure("open", -fd, "opening " + KvmProbe.DEVICE);
    }
    KvmHypervisor hypervisor = new KvmHypervisor(host, fd, dirtyRingEntries, userModeRingEntries);
    LOG.log(
        Level.DEBUG,
        () ->
            "kvm: opened %s (fd %d): %s, capabilities %s, sync regs %s, dirty tracking %s"
                .formatted(
                    KvmProbe.DEVICE,
                    fd,
                    host.description(),
                    host.capabilities(),
                    hypervisor.useSyncRegs,
                    dirtyRingEntries > 0
                        ? "ring of %d entries".formatted(dirtyRingEntries)
                        : "KVM_GET_DIRTY_LOG"));
    return hypervisor;
  }

  /**
   * {@return the ring size for partitions that run guest code at CPL 3 only, or 0} In {@code auto}
   * mode on a PVM host the ring is safe for them: PVM runs CPL-3 code natively and logs its writes
   * correctly; only its emulation of long stretches of CPL-0 code overflows the ring.
   */
  static int userModeRingEntriesFromProperties(KvmHost host) {
    String mode = System.getProperty(DIRTY_RING_PROPERTY, "auto").strip().toLowerCase(Locale.ROOT);
    if (!mode.equals("auto") || !host.hasDirtyRing()) {
      return 0;
    }
    return ringEntries(host);
  }

  /** {@return the ring size the properties ask for on this host, or 0 for the bitmap} */
  static int dirtyRingEntriesFromProperties(KvmHost host) {
    String mode = System.getProperty(DIRTY_RING_PROPERTY, "auto").strip().toLowerCase(Locale.ROOT);
    boolean ring =
        switch (mode) {
          // On PVM, KVM logs every emulated CPL-0 write and overflows the ring
          // (docs/kvm-backend.md).
          case "auto" -> host.privilegedExecution() == PrivilegedExecution.NATIVE;
          case "true" -> true;
          case "false" -> false;
          default ->
              throw new IllegalArgumentException(
                  "-D%s=%s: use auto (the default), true or false"
                      .formatted(DIRTY_RING_PROPERTY, mode));
        };
    if (!ring || !host.hasDirtyRing()) {
      return 0;
    }
    return ringEntries(host);
  }

  /** {@return the ring size {@value #DIRTY_RING_ENTRIES_PROPERTY} asks for, or the default} */
  private static int ringEntries(KvmHost host) {
    String configured = System.getProperty(DIRTY_RING_ENTRIES_PROPERTY, "").strip();
    if (configured.isEmpty()) {
      // The default, made to fit a host whose maximum is smaller (KVM's is 65536 entries).
      long maxEntries = host.dirtyRingMaxBytes() / KvmDirtyRing.ENTRY_BYTES;
      int entries = (int) Math.min(DEFAULT_DIRTY_RING_ENTRIES, Long.highestOneBit(maxEntries));
      return entries >= MIN_DIRTY_RING_ENTRIES ? entries : 0;
    }
    String what = "-D%s=%s".formatted(DIRTY_RING_ENTRIES_PROPERTY, configured);
    int entries;
    try {
      entries = Integer.parseInt(configured);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " is not a number of ring entries", e);
    }
    checkDirtyRingEntries(host, entries, what);
    return entries;
  }

  private static void checkDirtyRingEntries(KvmHost host, int entries, String what) {
    if (entries == 0) {
      return;
    }
    if (!host.hasDirtyRing()) {
      throw new IllegalArgumentException(
          what + ": KVM here has no dirty ring (KVM_CAP_DIRTY_LOG_RING); use 0 for the bitmap");
    }
    long maxEntries = host.dirtyRingMaxBytes() / KvmDirtyRing.ENTRY_BYTES;
    if (Integer.bitCount(entries) != 1
        || entries < MIN_DIRTY_RING_ENTRIES
        || entries > maxEntries) {
      throw new IllegalArgumentException(
          "%s must be a power of two from %d to %d (KVM_CAP_DIRTY_LOG_RING allows %d bytes of %d-byte entries)"
              .formatted(
                  what,
                  MIN_DIRTY_RING_ENTRIES,
                  maxEntries,
                  host.dirtyRingMaxBytes(),
                  KvmDirtyRing.ENTRY_BYTES));
    }
  }

  KvmHost host() {
    return host;
  }

  boolean useSyncRegs() {
    return useSyncRegs;
  }

  /** {@return the dirty ring's size in entries for new partitions, or 0 for the bitmap} */
  int dirtyRingEntries() {
    return dirtyRingEntries;
  }

  @Override
  public String name() {
    return KvmErrors.BACKEND;
  }

  @Override
  public String description() {
    return host.description();
  }

  @Override
  public Set<Capability> capabilities() {
    return host.capabilities();
  }

  @Override
  public PrivilegedExecution privilegedExecution() {
    return host.privilegedExecution();
  }

  @Override
  public long maxMemoryBytes() {
    return host.guestAddressLimit();
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new ClosedResourceException("kvm hypervisor");
    }
  }

  @Override
  public GuestMemory allocateMemory(long byteSize) {
    ensureOpen();
    if (byteSize <= 0 || byteSize % Partition.PAGE_SIZE != 0) {
      throw new IllegalArgumentException(
          "guest memory size %d must be a positive multiple of %d bytes"
              .formatted(byteSize, Partition.PAGE_SIZE));
    }
    if (byteSize > maxMemoryBytes()) {
      throw new IllegalArgumentException(
          "guest memory size %d exceeds the maximum of %d bytes (%d-bit guest-physical addresses)"
              .formatted(byteSize, maxMemoryBytes(), host.physicalAddressBits()));
    }
    return adopt(KvmGuestMemory.allocate(this, byteSize));
  }

  @Override
  public MemoryImage createImage(MemorySegment contents) {
    Objects.requireNonNull(contents, "contents");
    ensureOpen();
    if (!contents.isNative()
        || contents.byteSize() == 0
        || contents.address() % Partition.PAGE_SIZE != 0
        || contents.byteSize() % Partition.PAGE_SIZE != 0) {
      throw new IllegalArgumentException(
          "image contents %s must be native, non-empty and page-aligned in address and size"
              .formatted(contents));
    }
    if (contents.byteSize() > maxMemoryBytes()) {
      throw new IllegalArgumentException(
          "image size %d exceeds the maximum of %d bytes"
              .formatted(contents.byteSize(), maxMemoryBytes()));
    }
    return adopt(KvmMemoryImage.create(this, contents));
  }

  @Override
  public GuestMemory allocateMemory(MemoryImage image) {
    Objects.requireNonNull(image, "image");
    ensureOpen();
    // Any KVM image of this process will do: a memfd can be mapped by every KVM VM of the process.
    if (!(image instanceof KvmMemoryImage kvmImage)) {
      throw new IllegalArgumentException(image + " belongs to another backend, not kvm");
    }
    return adopt(kvmImage.newClone());
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    Objects.requireNonNull(config, "config");
    ensureOpen();
    int vmFd;
    do {
      // KVM_CREATE_VM can fail with EINTR when a signal arrives while it sets up the VM.
      vmFd = Libc.ioctl(kvmFd, Kvm.KVM_CREATE_VM, 0L);
    } while (vmFd == -Errno.EINTR);
    if (vmFd < 0) {
      throw KvmErrors.failure(
          "KVM_CREATE_VM", -vmFd, "creating partition '" + config.label() + "'");
    }
    int ringEntries =
        dirtyRingEntries > 0 ? dirtyRingEntries : config.userModeOnly() ? userModeRingEntries : 0;
    if (ringEntries > 0) {
      // Only possible before the VM has a vCPU; each vCPU then gets a ring of this size.
      int result =
          KvmEnableCap.enable(
              vmFd, host.dirtyRingCapability(), (long) ringEntries * KvmDirtyRing.ENTRY_BYTES);
      if (result < 0) {
        KvmErrors.released(Libc.close(vmFd), "close", "VM fd " + vmFd + " after KVM_ENABLE_CAP");
        throw KvmErrors.failure(
            "KVM_ENABLE_CAP",
            -result,
            "enabling a dirty ring of %d entries (%d bytes, capability %d) on partition '%s'; -D%s=false uses KVM_GET_DIRTY_LOG instead"
                .formatted(
                    ringEntries,
                    (long) ringEntries * KvmDirtyRing.ENTRY_BYTES,
                    host.dirtyRingCapability(),
                    config.label(),
                    DIRTY_RING_PROPERTY));
      }
    }
    KvmPartition partition = new KvmPartition(this, vmFd, config.label(), ringEntries);
    LOG.log(
        Level.DEBUG,
        () -> "kvm: created partition '%s' (VM fd %d)".formatted(config.label(), partition.vmFd()));
    return adopt(partition);
  }

  /** Registers a child; if the hypervisor closed meanwhile, closes it and throws. */
  private <T extends AutoCloseable> T adopt(T child) {
    children.add(child);
    if (closed.get()) {
      children.remove(child);
      closeChild(child, null);
      throw new ClosedResourceException("kvm hypervisor");
    }
    return child;
  }

  /** Called by a child that closed itself. */
  void release(AutoCloseable child) {
    children.remove(child);
  }

  private static RuntimeException closeChild(AutoCloseable child, RuntimeException first) {
    try {
      child.close();
    } catch (Exception e) {
      RuntimeException failure =
          e instanceof RuntimeException r ? r : new IllegalStateException("closing " + child, e);
      if (first == null) {
        return failure;
      }
      first.addSuppressed(failure);
    }
    return first;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    RuntimeException failure = null;
    List<AutoCloseable> open = new ArrayList<>(children);
    // Partitions first: they hold mappings of the guest memory.
    for (AutoCloseable child : open) {
      if (child instanceof Partition) {
        failure = closeChild(child, failure);
      }
    }
    for (AutoCloseable child : open) {
      if (!(child instanceof Partition) && !(child instanceof MemoryImage)) {
        failure = closeChild(child, failure);
      }
    }
    for (AutoCloseable child : open) {
      if (child instanceof MemoryImage) {
        failure = closeChild(child, failure);
      }
    }
    children.clear();
    KvmErrors.released(Libc.close(kvmFd), "close", KvmProbe.DEVICE + " fd " + kvmFd);
    LOG.log(Level.DEBUG, "kvm: closed " + KvmProbe.DEVICE);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "KvmHypervisor[" + host.description() + (closed.get() ? ", closed]" : "]");
  }
}
