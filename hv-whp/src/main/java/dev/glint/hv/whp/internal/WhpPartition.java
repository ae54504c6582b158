package dev.glint.hv.whp.internal;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.Vcpu;
import dev.glint.hv.whp.internal.sys.WhvConstants;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A WHP partition: one partition handle (processor count 1, set up at creation), its GPA ranges and
 * its virtual processor 0.
 *
 * <p>Each {@link MemoryMapping} is one {@code WHvMapGpaRange}: {@link MemoryFlag#READ} and {@link
 * MemoryFlag#EXECUTE} become {@code WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagExecute}, {@link
 * MemoryFlag#WRITE} adds {@code WHvMapGpaRangeFlagWrite} (without it a guest write exits as a
 * memory access, memory unchanged), {@link MemoryFlag#TRACK_DIRTY} adds {@code
 * WHvMapGpaRangeFlagTrackDirtyPages}. A mapping without {@code EXECUTE} is refused: WHP can enforce
 * it, but this backend has not been proven to (see docs/whp-backend.md), so it does not claim
 * {@link Capability#EXECUTE_PROTECTION}. {@link #dirtyPages} is {@code WHvQueryGpaRangeDirtyBitmap}
 * over the mapping, which returns and clears its dirty bits.
 *
 * <p><b>Thread safety:</b> methods are synchronized, so misuse from several threads cannot corrupt
 * the range table; the SPI still asks callers to serialize. <b>Lifetime:</b> {@link #close()}
 * closes the vCPU (interrupting and waiting for a run in progress), then deletes the partition,
 * which removes every range.
 */
final class WhpPartition implements Partition {
  private record Range(MemoryMapping mapping, MemorySegment host) {}

  private final WhpHypervisor hypervisor;
  private final WinHvPlatform platform;
  private final MemorySegment handle;
  private final String label;
  private final TreeMap<Long, Range> ranges = new TreeMap<>();
  private WhpVcpu vcpu;
  private volatile boolean closed;

  WhpPartition(WhpHypervisor hypervisor, MemorySegment handle, String label) {
    this.hypervisor = hypervisor;
    this.platform = hypervisor.platform();
    this.handle = handle;
    this.label = label;
  }

  MemorySegment handle() {
    return handle;
  }

  String label() {
    return label;
  }

  private void ensureOpen() {
    if (closed) {
      throw new ClosedResourceException(describe());
    }
  }

  String describe() {
    return "whp partition '" + label + "'";
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
    if (!host.scope().isAlive()) {
      throw new IllegalArgumentException(
          "host segment's memory is already freed (its arena is closed)");
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
    long limit = hypervisor.host().guestAddressLimit();
    if (guestAddress > limit - size) {
      throw new IllegalArgumentException(
          "guest range 0x%x + 0x%x exceeds the %d-bit guest-physical address space (limit 0x%x)"
              .formatted(guestAddress, size, WhpHost.PHYSICAL_ADDRESS_BITS, limit));
    }
    if (!flags.contains(MemoryFlag.EXECUTE)) {
      throw new MissingCapabilityException(
          WhpErrors.BACKEND, Capability.EXECUTE_PROTECTION, "a mapping without MemoryFlag.EXECUTE");
    }
    if (flags.contains(MemoryFlag.TRACK_DIRTY) && !hypervisor.has(Capability.DIRTY_PAGE_TRACKING)) {
      throw new MissingCapabilityException(
          WhpErrors.BACKEND, Capability.DIRTY_PAGE_TRACKING, "MemoryFlag.TRACK_DIRTY");
    }
    MemoryMapping mapping = new MemoryMapping(guestAddress, size, flags);
    rejectOverlap(ranges.floorEntry(guestAddress), mapping);
    rejectOverlap(ranges.ceilingEntry(guestAddress), mapping);
    int whpFlags = whpFlags(flags);
    WhpErrors.check(
        platform.mapGpaRange(handle, host, guestAddress, size, whpFlags),
        "WHvMapGpaRange",
        "%s: GPA 0x%x, size 0x%x, host 0x%x, flags 0x%x"
            .formatted(describe(), guestAddress, size, host.address(), whpFlags));
    ranges.put(guestAddress, new Range(mapping, host));
    return mapping;
  }

  private static int whpFlags(Set<MemoryFlag> flags) {
    return WhvConstants.WHvMapGpaRangeFlagRead
        | WhvConstants.WHvMapGpaRangeFlagExecute
        | (flags.contains(MemoryFlag.WRITE) ? WhvConstants.WHvMapGpaRangeFlagWrite : 0)
        | (flags.contains(MemoryFlag.TRACK_DIRTY)
            ? WhvConstants.WHvMapGpaRangeFlagTrackDirtyPages
            : 0);
  }

  private static void rejectOverlap(Map.Entry<Long, Range> neighbour, MemoryMapping mapping) {
    if (neighbour != null && neighbour.getValue().mapping().overlaps(mapping)) {
      MemoryMapping other = neighbour.getValue().mapping();
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

  private Range rangeOf(MemoryMapping mapping) {
    Objects.requireNonNull(mapping, "mapping");
    Range range = ranges.get(mapping.guestAddress());
    if (range == null || range.mapping() != mapping) {
      throw new IllegalArgumentException(
          "%s is not a current mapping of %s (pass the object that map() returned)"
              .formatted(mapping, describe()));
    }
    return range;
  }

  @Override
  public synchronized void unmap(MemoryMapping mapping) {
    ensureOpen();
    rangeOf(mapping);
    WhpErrors.check(
        platform.unmapGpaRange(handle, mapping.guestAddress(), mapping.size()),
        "WHvUnmapGpaRange",
        "%s: GPA 0x%x, size 0x%x".formatted(describe(), mapping.guestAddress(), mapping.size()));
    ranges.remove(mapping.guestAddress());
  }

  @Override
  public synchronized List<MemoryMapping> mappings() {
    ensureOpen();
    return ranges.values().stream().map(Range::mapping).toList();
  }

  @Override
  public synchronized BitSet dirtyPages(MemoryMapping mapping) {
    ensureOpen();
    if (!hypervisor.has(Capability.DIRTY_PAGE_TRACKING)) {
      throw new MissingCapabilityException(
          WhpErrors.BACKEND, Capability.DIRTY_PAGE_TRACKING, "dirtyPages");
    }
    rangeOf(mapping);
    if (!mapping.flags().contains(MemoryFlag.TRACK_DIRTY)) {
      throw new IllegalArgumentException(
          mapping
              + " was mapped without MemoryFlag.TRACK_DIRTY; map it with that flag to track writes");
    }
    long words = (mapping.pageCount() + 63) / 64;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment bitmap = arena.allocate(words * 8, 8);
      WhpErrors.check(
          platform.queryGpaRangeDirtyBitmap(handle, mapping.guestAddress(), mapping.size(), bitmap),
          "WHvQueryGpaRangeDirtyBitmap",
          "%s: GPA 0x%x, %d pages"
              .formatted(describe(), mapping.guestAddress(), mapping.pageCount()));
      return BitSet.valueOf(bitmap.toArray(JAVA_LONG));
    }
  }

  /**
   * {@return the host memory behind {@code [gpa, gpa + length)}, or null when no single mapping
   * backs all of it} For the vCPU's emulation of string I/O.
   */
  synchronized MemorySegment hostSlice(long gpa, long length) {
    Map.Entry<Long, Range> entry = ranges.floorEntry(gpa);
    if (entry == null) {
      return null;
    }
    MemoryMapping mapping = entry.getValue().mapping();
    if (gpa < mapping.guestAddress() || gpa + length > mapping.endAddress() || length < 0) {
      return null;
    }
    return entry.getValue().host().asSlice(gpa - mapping.guestAddress(), length);
  }

  @Override
  public synchronized Vcpu createVcpu() {
    ensureOpen();
    if (vcpu != null) {
      throw new IllegalStateException(
          describe()
              + " already has its vCPU; a partition has exactly one (create another partition)");
    }
    vcpu = WhpVcpu.create(this, hypervisor);
    return vcpu;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    WhpVcpu toClose;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toClose = vcpu;
    }
    try {
      if (toClose != null) {
        toClose.close();
      }
    } finally {
      synchronized (this) {
        ranges.clear();
      }
      // Deleting the partition removes its GPA ranges.
      WhpErrors.released(platform.deletePartition(handle), "WHvDeletePartition", describe());
      hypervisor.release(this);
      WhpHypervisor.LOG.log(Level.DEBUG, () -> "whp: closed partition '%s'".formatted(label));
    }
  }

  @Override
  public String toString() {
    return "WhpPartition['" + label + "'" + (closed ? ", closed]" : "]");
  }
}
