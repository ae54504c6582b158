package dev.glint.hv.emulated.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The emulated hypervisor: partitions whose vCPU is an x86-64 interpreter, and guest memory in
 * native segments.
 *
 * <p>Capabilities: read-only memory, dirty-page tracking, unmap, cancel, real mode, user-mode entry
 * and FPU state. Not {@link Capability#EXECUTE_PROTECTION} (mappings are always executable, as on
 * KVM) and not {@link Capability#COPY_ON_WRITE_IMAGES}: an image is a plain copy, and a clone of it
 * is a full copy.
 *
 * <p><b>Thread safety:</b> thread-safe. <b>Lifetime:</b> {@link #close()} closes the partitions,
 * memories and images it made that are still open; idempotent.
 */
final class EmulatedHypervisor implements Hypervisor {
  static final String DESCRIPTION = "Glint x86-64 interpreter (no hardware virtualization)";

  static final Set<Capability> CAPABILITIES =
      Set.copyOf(
          EnumSet.of(
              Capability.READ_ONLY_MEMORY,
              Capability.DIRTY_PAGE_TRACKING,
              Capability.UNMAP,
              Capability.CANCEL,
              Capability.REAL_MODE,
              Capability.USER_MODE_ENTRY,
              Capability.FPU_STATE));

  static final PrivilegedExecution PRIVILEGED_EXECUTION = PrivilegedExecution.INTERPRETED;

  /** Guest-physical addresses have 48 bits, as the emulated CPUID says. */
  static final long MAX_MEMORY = 1L << 40;

  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();

  @Override
  public String name() {
    return EmulatedHypervisorProvider.NAME;
  }

  @Override
  public String description() {
    return DESCRIPTION;
  }

  @Override
  public Set<Capability> capabilities() {
    return CAPABILITIES;
  }

  @Override
  public PrivilegedExecution privilegedExecution() {
    return PRIVILEGED_EXECUTION;
  }

  @Override
  public long maxMemoryBytes() {
    return MAX_MEMORY;
  }

  void ensureOpen() {
    if (closed.get()) {
      throw new ClosedResourceException("emulated hypervisor");
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
    if (byteSize > MAX_MEMORY) {
      throw new IllegalArgumentException(
          "guest memory size %d exceeds the maximum of %d bytes".formatted(byteSize, MAX_MEMORY));
    }
    return adopt(EmulatedGuestMemory.allocate(this, byteSize, null));
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
    if (contents.byteSize() > MAX_MEMORY) {
      throw new IllegalArgumentException(
          "image size %d exceeds the maximum of %d bytes"
              .formatted(contents.byteSize(), MAX_MEMORY));
    }
    return adopt(new EmulatedMemoryImage(this, contents));
  }

  @Override
  public GuestMemory allocateMemory(MemoryImage image) {
    Objects.requireNonNull(image, "image");
    ensureOpen();
    if (!(image instanceof EmulatedMemoryImage emulated)) {
      throw new IllegalArgumentException(image + " belongs to another backend, not emulated");
    }
    return adopt(EmulatedGuestMemory.allocate(this, emulated.byteSize(), emulated));
  }

  @Override
  public Partition createPartition(PartitionConfig config) {
    Objects.requireNonNull(config, "config");
    ensureOpen();
    return adopt(new EmulatedPartition(this, config.label()));
  }

  private <T extends AutoCloseable> T adopt(T child) {
    children.add(child);
    if (closed.get()) {
      children.remove(child);
      try {
        child.close();
      } catch (Exception ignored) {
        // closing what was just made; the closed hypervisor is the error to report
      }
      throw new ClosedResourceException("emulated hypervisor");
    }
    return child;
  }

  void release(AutoCloseable child) {
    children.remove(child);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    RuntimeException failure = null;
    List<AutoCloseable> open = new ArrayList<>(children);
    open.sort((a, b) -> Integer.compare(rank(a), rank(b))); // partitions, then memory, then images
    for (AutoCloseable child : open) {
      try {
        child.close();
      } catch (Exception e) {
        RuntimeException r =
            e instanceof RuntimeException re
                ? re
                : new IllegalStateException("closing " + child, e);
        if (failure == null) {
          failure = r;
        } else {
          failure.addSuppressed(r);
        }
      }
    }
    children.clear();
    if (failure != null) {
      throw failure;
    }
  }

  private static int rank(AutoCloseable child) {
    return child instanceof Partition ? 0 : child instanceof MemoryImage ? 2 : 1;
  }

  @Override
  public String toString() {
    return "EmulatedHypervisor[" + (closed.get() ? "closed]" : "open]");
  }
}
