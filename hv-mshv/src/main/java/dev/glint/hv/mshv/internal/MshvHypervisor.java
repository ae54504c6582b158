package dev.glint.hv.mshv.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.mshv.internal.sys.Libc;
import dev.glint.hv.mshv.internal.sys.Mshv;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An open {@code /dev/mshv}: creates partitions ({@link MshvPartition}) and guest memory ({@link
 * MshvGuestMemory}).
 *
 * <p><b>Thread safety:</b> thread-safe. <b>Lifetime:</b> registers every partition, guest memory
 * and image it creates; {@link #close()} closes those still open (partitions first, since they map
 * the memory), then the device fd. Idempotent.
 */
final class MshvHypervisor implements Hypervisor {
  static final System.Logger LOG = System.getLogger("dev.glint.hv.mshv");

  private final MshvHost host;
  private final int deviceFd;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();

  private MshvHypervisor(MshvHost host, int deviceFd) {
    this.host = host;
    this.deviceFd = deviceFd;
  }

  static MshvHypervisor open(MshvHost host) {
    int fd = Libc.open(host.device(), Libc.O_RDWR | Libc.O_CLOEXEC);
    if (fd < 0) {
      throw MshvErrors.failure("open", -fd, "opening " + host.device());
    }
    LOG.log(Level.DEBUG, () -> "mshv: opened %s (fd %d)".formatted(host.device(), fd));
    return new MshvHypervisor(host, fd);
  }

  MshvHost host() {
    return host;
  }

  @Override
  public String name() {
    return MshvErrors.BACKEND;
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
      throw new ClosedResourceException("mshv hypervisor");
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
          "guest memory size %d exceeds the maximum of %d bytes"
              .formatted(byteSize, maxMemoryBytes()));
    }
    return adopt(MshvGuestMemory.allocate(this, byteSize, null));
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
    return adopt(MshvMemoryImage.create(this, contents));
  }

  @Override
  public GuestMemory allocateMemory(MemoryImage image) {
    Objects.requireNonNull(image, "image");
    ensureOpen();
    if (!(image instanceof MshvMemoryImage mshvImage)) {
      throw new IllegalArgumentException(image + " belongs to another backend, not mshv");
    }
    return adopt(mshvImage.newClone(this));
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    Objects.requireNonNull(config, "config");
    ensureOpen();
    int fd;
    do {
      // No LAPIC: Glint's guests take no interrupts, and hlt then reaches the VMM as a message.
      fd = Mshv.createPartition(deviceFd, 0);
    } while (fd == -dev.glint.hv.mshv.internal.sys.Errno.EINTR);
    if (fd < 0) {
      throw MshvErrors.failure(
          "MSHV_CREATE_PARTITION", -fd, "creating partition '" + config.label() + "'");
    }
    int result = Mshv.initializePartition(fd);
    if (result < 0) {
      MshvErrors.released(Libc.close(fd), "close", "partition fd " + fd);
      throw MshvErrors.failure(
          "MSHV_INITIALIZE_PARTITION", -result, "initializing partition '" + config.label() + "'");
    }
    MshvPartition partition = new MshvPartition(this, fd, config.label());
    LOG.log(
        Level.DEBUG,
        () -> "mshv: created partition '%s' (fd %d)".formatted(config.label(), partition.fd()));
    return adopt(partition);
  }

  private <T extends AutoCloseable> T adopt(T child) {
    children.add(child);
    if (closed.get()) {
      children.remove(child);
      closeChild(child, null);
      throw new ClosedResourceException("mshv hypervisor");
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
    for (AutoCloseable child : open) {
      if (child instanceof Partition) {
        failure = closeChild(child, failure);
      }
    }
    for (AutoCloseable child : open) {
      if (!(child instanceof Partition)) {
        failure = closeChild(child, failure);
      }
    }
    children.clear();
    MshvErrors.released(Libc.close(deviceFd), "close", host.device() + " fd " + deviceFd);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "MshvHypervisor[" + host.description() + (closed.get() ? ", closed]" : "]");
  }
}
