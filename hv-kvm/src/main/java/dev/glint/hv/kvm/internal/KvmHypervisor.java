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
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
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

  private final KvmHost host;
  private final int kvmFd;
  private final boolean useSyncRegs;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();

  private KvmHypervisor(KvmHost host, int kvmFd) {
    this.host = host;
    this.kvmFd = kvmFd;
    this.useSyncRegs =
        host.syncRegs()
            && Boolean.parseBoolean(System.getProperty(SYNC_REGS_PROPERTY, "true").strip());
  }

  static KvmHypervisor open(KvmHost host) {
    int fd = Libc.open(KvmProbe.DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
    if (fd < 0) {
      throw KvmErrors.failure("open", -fd, "opening " + KvmProbe.DEVICE);
    }
    KvmHypervisor hypervisor = new KvmHypervisor(host, fd);
    LOG.log(
        Level.DEBUG,
        () ->
            "kvm: opened %s (fd %d): %s, capabilities %s, sync regs %s"
                .formatted(
                    KvmProbe.DEVICE,
                    fd,
                    host.description(),
                    host.capabilities(),
                    hypervisor.useSyncRegs));
    return hypervisor;
  }

  KvmHost host() {
    return host;
  }

  boolean useSyncRegs() {
    return useSyncRegs;
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
    KvmPartition partition = new KvmPartition(this, vmFd, config.label());
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
