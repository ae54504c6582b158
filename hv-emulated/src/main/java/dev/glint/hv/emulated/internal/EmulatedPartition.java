package dev.glint.hv.emulated.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.Vcpu;
import dev.glint.hv.emulated.internal.memory.PhysicalMemory;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An emulated partition: a guest-physical address space ({@link PhysicalMemory}) and one vCPU.
 * Mappings without {@link MemoryFlag#EXECUTE} are refused (no {@link
 * Capability#EXECUTE_PROTECTION}). Methods are synchronized so misuse cannot corrupt the map; the
 * SPI still asks callers to serialize them with runs.
 */
final class EmulatedPartition implements Partition {
  private final EmulatedHypervisor hypervisor;
  private final String label;
  private final PhysicalMemory physical = new PhysicalMemory();
  private EmulatedVcpu vcpu;
  private volatile boolean closed;

  EmulatedPartition(EmulatedHypervisor hypervisor, String label) {
    this.hypervisor = hypervisor;
    this.label = label;
  }

  private String describe() {
    return "emulated partition '" + label + "'";
  }

  private void ensureOpen() {
    if (closed) {
      throw new ClosedResourceException(describe());
    }
  }

  private static boolean aligned(long value) {
    return (value & (PAGE_SIZE - 1)) == 0;
  }

  @Override
  public synchronized MemoryMapping map(
      long guestAddress, MemorySegment host, Set<MemoryFlag> flags) {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(flags, "flags");
    ensureOpen();
    if (!flags.contains(MemoryFlag.READ)) {
      throw new IllegalArgumentException("mapping flags " + flags + " must include READ");
    }
    if (!host.isNative()) {
      throw new IllegalArgumentException(
          "host memory must be native (off-heap), such as GuestMemory.segment(); got a heap segment");
    }
    if (host.isReadOnly()) {
      throw new IllegalArgumentException(
          "host segment is read-only; pass a writable segment and leave out MemoryFlag.WRITE to make"
              + " the mapping read-only for the guest");
    }
    long size = host.byteSize();
    if (size == 0 || !aligned(size) || !aligned(host.address())) {
      throw new IllegalArgumentException(
          "host segment at 0x%x of %d bytes must be non-empty and page-aligned (%d) in address and size"
              .formatted(host.address(), size, PAGE_SIZE));
    }
    if (guestAddress < 0 || !aligned(guestAddress)) {
      throw new IllegalArgumentException(
          "guest address 0x%x must be non-negative and a multiple of %d"
              .formatted(guestAddress, PAGE_SIZE));
    }
    if (guestAddress > EmulatedHypervisor.MAX_MEMORY * 256 - size) {
      throw new IllegalArgumentException(
          "guest range 0x%x + 0x%x exceeds the 48-bit guest-physical address space"
              .formatted(guestAddress, size));
    }
    if (!flags.contains(MemoryFlag.EXECUTE)) {
      throw new MissingCapabilityException(
          EmulatedHypervisorProvider.NAME,
          Capability.EXECUTE_PROTECTION,
          "a mapping without MemoryFlag.EXECUTE");
    }
    MemoryMapping mapping = new MemoryMapping(guestAddress, size, flags);
    for (MemoryMapping other : physical.mappings()) {
      if (other.overlaps(mapping)) {
        throw new IllegalArgumentException(
            "guest range [0x%x, 0x%x) overlaps the existing mapping [0x%x, 0x%x); unmap it first or"
                    .formatted(
                        mapping.guestAddress(),
                        mapping.endAddress(),
                        other.guestAddress(),
                        other.endAddress())
                + " choose another address");
      }
    }
    physical.add(mapping, host);
    return mapping;
  }

  private void checkCurrent(MemoryMapping mapping) {
    Objects.requireNonNull(mapping, "mapping");
    if (physical.regionOf(mapping) == null) {
      throw new IllegalArgumentException(
          "%s is not a current mapping of %s (pass the object that map() returned)"
              .formatted(mapping, describe()));
    }
  }

  @Override
  public synchronized void unmap(MemoryMapping mapping) {
    ensureOpen();
    checkCurrent(mapping);
    physical.remove(mapping);
  }

  @Override
  public synchronized List<MemoryMapping> mappings() {
    ensureOpen();
    return physical.mappings();
  }

  @Override
  public synchronized BitSet dirtyPages(MemoryMapping mapping) {
    ensureOpen();
    checkCurrent(mapping);
    if (!mapping.flags().contains(MemoryFlag.TRACK_DIRTY)) {
      throw new IllegalArgumentException(
          mapping
              + " was mapped without MemoryFlag.TRACK_DIRTY; map it with that flag to track writes");
    }
    BitSet dirty = physical.dirtyPages(mapping);
    if (vcpu != null) {
      // A new interval: the next write to each page must be seen again.
      vcpu.flushTranslations();
    }
    return dirty;
  }

  @Override
  public synchronized Vcpu createVcpu() {
    ensureOpen();
    if (vcpu != null) {
      throw new IllegalStateException(
          describe() + " already has its one vCPU; a partition has exactly one");
    }
    vcpu = new EmulatedVcpu(physical, label);
    return vcpu;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (vcpu != null) {
      vcpu.close();
    }
    for (MemoryMapping m : physical.mappings()) {
      physical.remove(m);
    }
    hypervisor.release(this);
  }
}
