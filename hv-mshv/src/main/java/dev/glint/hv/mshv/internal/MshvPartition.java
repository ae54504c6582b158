package dev.glint.hv.mshv.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.Vcpu;
import dev.glint.hv.mshv.internal.sys.Libc;
import dev.glint.hv.mshv.internal.sys.Mshv;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An mshv partition: one partition fd, its guest memory regions and its VP.
 *
 * <p>Each {@link MemoryMapping} is one {@code MSHV_SET_GUEST_MEMORY} region: {@code
 * MSHV_SET_MEM_BIT_WRITABLE} with {@link MemoryFlag#WRITE}, {@code MSHV_SET_MEM_BIT_EXECUTABLE}
 * always. The uapi could map memory without execute rights, but this backend does not claim {@link
 * Capability#EXECUTE_PROTECTION}: nothing here has shown that a fetch from such memory reaches the
 * VMM in a form it handles (the ABI double cannot enforce it on KVM), so a mapping without {@link
 * MemoryFlag#EXECUTE} is refused. Unmapping passes the region's exact address, size and host
 * address with {@code MSHV_SET_MEM_BIT_UNMAP}, as the uapi requires. The host segment of each
 * mapping is referenced until it is unmapped. Dirty-page tracking is not provided ({@code
 * MSHV_GET_GPAP_ACCESS_BITMAP} exists but is unproven here): {@link #dirtyPages} throws.
 *
 * <p><b>Thread safety:</b> methods are synchronized. <b>Lifetime:</b> {@link #close()} closes the
 * VP (interrupting and waiting for a run in progress) and the partition fd, which drops every
 * region.
 */
final class MshvPartition implements Partition {
  private record Region(MemoryMapping mapping, MemorySegment host) {}

  private final MshvHypervisor hypervisor;
  private final int fd;
  private final String label;
  private final TreeMap<Long, Region> regions = new TreeMap<>();
  private MshvVcpu vcpu;
  private volatile boolean closed;

  MshvPartition(MshvHypervisor hypervisor, int fd, String label) {
    this.hypervisor = hypervisor;
    this.fd = fd;
    this.label = label;
  }

  int fd() {
    return fd;
  }

  String label() {
    return label;
  }

  MshvHypervisor hypervisor() {
    return hypervisor;
  }

  private void ensureOpen() {
    if (closed) {
      throw new ClosedResourceException(describe());
    }
  }

  private String describe() {
    return "mshv partition '" + label + "'";
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
          "guest range 0x%x + 0x%x exceeds the guest-physical address space (limit 0x%x)"
              .formatted(guestAddress, size, limit));
    }
    if (!flags.contains(MemoryFlag.EXECUTE)) {
      throw new MissingCapabilityException(
          MshvErrors.BACKEND,
          Capability.EXECUTE_PROTECTION,
          "a mapping without MemoryFlag.EXECUTE");
    }
    if (flags.contains(MemoryFlag.TRACK_DIRTY)) {
      throw new MissingCapabilityException(
          MshvErrors.BACKEND,
          Capability.DIRTY_PAGE_TRACKING,
          "a mapping with MemoryFlag.TRACK_DIRTY");
    }
    MemoryMapping mapping = new MemoryMapping(guestAddress, size, flags);
    rejectOverlap(regions.floorEntry(guestAddress), mapping);
    rejectOverlap(regions.ceilingEntry(guestAddress), mapping);
    int mshvFlags =
        (flags.contains(MemoryFlag.WRITE) ? 1 << Mshv.MSHV_SET_MEM_BIT_WRITABLE : 0)
            | 1 << Mshv.MSHV_SET_MEM_BIT_EXECUTABLE;
    int result = Mshv.setGuestMemory(fd, guestAddress, size, host.address(), mshvFlags);
    if (result < 0) {
      throw MshvErrors.failure(
          "MSHV_SET_GUEST_MEMORY",
          -result,
          "%s: GPA 0x%x, size 0x%x, host 0x%x, flags 0x%x"
              .formatted(describe(), guestAddress, size, host.address(), mshvFlags));
    }
    regions.put(guestAddress, new Region(mapping, host));
    return mapping;
  }

  private static void rejectOverlap(Map.Entry<Long, Region> neighbour, MemoryMapping mapping) {
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

  private Region regionOf(MemoryMapping mapping) {
    Objects.requireNonNull(mapping, "mapping");
    Region region = regions.get(mapping.guestAddress());
    if (region == null || region.mapping() != mapping) {
      throw new IllegalArgumentException(
          "%s is not a current mapping of %s (pass the object that map() returned)"
              .formatted(mapping, describe()));
    }
    return region;
  }

  @Override
  public synchronized void unmap(MemoryMapping mapping) {
    ensureOpen();
    Region region = regionOf(mapping);
    int result =
        Mshv.setGuestMemory(
            fd,
            mapping.guestAddress(),
            mapping.size(),
            region.host().address(),
            1 << Mshv.MSHV_SET_MEM_BIT_UNMAP);
    if (result < 0) {
      throw MshvErrors.failure(
          "MSHV_SET_GUEST_MEMORY",
          -result,
          "%s: unmapping GPA 0x%x, size 0x%x"
              .formatted(describe(), mapping.guestAddress(), mapping.size()));
    }
    regions.remove(mapping.guestAddress());
  }

  /** {@return the host memory behind {@code gpa}, or null when no mapping backs it} */
  private MemorySegment hostAt(long gpa) {
    Map.Entry<Long, Region> entry = regions.floorEntry(gpa);
    if (entry == null || !entry.getValue().mapping().contains(gpa)) {
      return null;
    }
    Region region = entry.getValue();
    return region.host().asSlice(gpa - region.mapping().guestAddress());
  }

  /** {@return the byte at {@code gpa}, or -1 when no mapping backs it} */
  synchronized int readGuestByte(long gpa) {
    MemorySegment host = hostAt(gpa);
    return host == null ? -1 : Byte.toUnsignedInt(host.get(ValueLayout.JAVA_BYTE, 0));
  }

  /** {@return the 8 bytes at {@code gpa}, or -1 when no mapping backs them all} */
  synchronized long readGuestLong(long gpa) {
    MemorySegment host = hostAt(gpa);
    return host == null || host.byteSize() < 8 ? -1 : host.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
  }

  /** Writes a byte at {@code gpa} if a writable mapping backs it. {@return whether it did} */
  synchronized boolean writeGuestByte(long gpa, byte value) {
    Map.Entry<Long, Region> entry = regions.floorEntry(gpa);
    if (entry == null
        || !entry.getValue().mapping().contains(gpa)
        || !entry.getValue().mapping().flags().contains(MemoryFlag.WRITE)) {
      return false;
    }
    hostAt(gpa).set(ValueLayout.JAVA_BYTE, 0, value);
    return true;
  }

  @Override
  public synchronized List<MemoryMapping> mappings() {
    ensureOpen();
    return regions.values().stream().map(Region::mapping).toList();
  }

  @Override
  public BitSet dirtyPages(MemoryMapping mapping) {
    ensureOpen();
    throw new MissingCapabilityException(
        MshvErrors.BACKEND, Capability.DIRTY_PAGE_TRACKING, "reading dirty pages");
  }

  @Override
  public synchronized Vcpu createVcpu() {
    ensureOpen();
    if (vcpu != null) {
      throw new IllegalStateException(describe() + " already has its vCPU; a partition has one");
    }
    vcpu = MshvVcpu.create(this);
    return vcpu;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    MshvVcpu toClose;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toClose = vcpu;
    }
    RuntimeException failure = null;
    if (toClose != null) {
      try {
        toClose.close();
      } catch (RuntimeException e) {
        failure = e;
      }
    }
    synchronized (this) {
      regions.clear();
    }
    MshvErrors.released(Libc.close(fd), "close", describe() + " fd " + fd);
    hypervisor.release(this);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "MshvPartition['" + label + "'" + (closed ? ", closed]" : "]");
  }
}
