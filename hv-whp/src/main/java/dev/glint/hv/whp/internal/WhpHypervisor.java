package dev.glint.hv.whp.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.whp.internal.sys.WhvConstants;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An open Windows Hypervisor Platform: creates partitions ({@link WhpPartition}) and guest memory
 * ({@link WhpGuestMemory}). WHP has no device handle to open, so opening costs nothing beyond the
 * probe.
 *
 * <p><b>Thread safety:</b> thread-safe. <b>Lifetime:</b> registers every partition, guest memory
 * and image it creates; {@link #close()} closes those still open (partitions first, since they map
 * the memory). Idempotent.
 */
final class WhpHypervisor implements Hypervisor {
  static final System.Logger LOG = System.getLogger("dev.glint.hv.whp");

  private final WhpHost host;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();

  WhpHypervisor(WhpHost host) {
    this.host = host;
  }

  WhpHost host() {
    return host;
  }

  WinHvPlatform platform() {
    return host.platform();
  }

  @Override
  public String name() {
    return WhpErrors.BACKEND;
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
      throw new ClosedResourceException("whp hypervisor");
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
              .formatted(byteSize, maxMemoryBytes(), WhpHost.PHYSICAL_ADDRESS_BITS));
    }
    return adopt(WhpGuestMemory.allocate(this, byteSize, null));
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
    return adopt(WhpMemoryImage.create(this, contents));
  }

  @Override
  public GuestMemory allocateMemory(MemoryImage image) {
    Objects.requireNonNull(image, "image");
    ensureOpen();
    if (!(image instanceof WhpMemoryImage whpImage)) {
      throw new IllegalArgumentException(image + " belongs to another backend, not whp");
    }
    return adopt(whpImage.newClone(this));
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    Objects.requireNonNull(config, "config");
    ensureOpen();
    WinHvPlatform platform = platform();
    MemorySegment handle;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      WhpErrors.check(
          platform.createPartition(out),
          "WHvCreatePartition",
          "creating partition '" + config.label() + "'");
      handle = out.get(ADDRESS, 0);
      boolean success = false;
      try {
        MemorySegment count = arena.allocate(JAVA_INT);
        count.set(JAVA_INT, 0, 1);
        WhpErrors.check(
            platform.setPartitionProperty(
                handle, WhvConstants.WHvPartitionPropertyCodeProcessorCount, count),
            "WHvSetPartitionProperty",
            "setting ProcessorCount 1 on partition '" + config.label() + "'");
        WhpErrors.check(
            platform.setupPartition(handle),
            "WHvSetupPartition",
            "setting up partition '" + config.label() + "'");
        success = true;
      } finally {
        if (!success) {
          WhpErrors.released(
              platform.deletePartition(handle), "WHvDeletePartition", config.label());
        }
      }
    }
    WhpPartition partition = new WhpPartition(this, handle, config.label());
    LOG.log(Level.DEBUG, () -> "whp: created partition '%s'".formatted(config.label()));
    return adopt(partition);
  }

  /** Registers a child; if the hypervisor closed meanwhile, closes it and throws. */
  private <T extends AutoCloseable> T adopt(T child) {
    children.add(child);
    if (closed.get()) {
      children.remove(child);
      closeChild(child, null);
      throw new ClosedResourceException("whp hypervisor");
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
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "WhpHypervisor[" + host.description() + (closed.get() ? ", closed]" : "]");
  }
}
