package dev.glint.hv.kvm.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.Vcpu;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmDirtyLog;
import dev.glint.hv.kvm.internal.sys.KvmUserspaceMemoryRegion;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A KVM VM: one VM fd, its memory slots and its vCPU.
 *
 * <p>Each {@link MemoryMapping} is one memory slot ({@code KVM_SET_USER_MEMORY_REGION}); slot
 * numbers are reused after {@link #unmap}, which deletes the slot (size 0). A mapping without
 * {@link MemoryFlag#WRITE} gets {@code KVM_MEM_READONLY}, one with {@link MemoryFlag#TRACK_DIRTY}
 * gets {@code KVM_MEM_LOG_DIRTY_PAGES}. KVM has no per-slot no-execute, so a mapping without {@link
 * MemoryFlag#EXECUTE} is refused. The host segment of each mapping is referenced until it is
 * unmapped, so memory from an automatic arena is not freed under the guest.
 *
 * <p><b>Thread safety:</b> methods are synchronized, so misuse from several threads cannot corrupt
 * the slot table; the SPI still asks callers to serialize. <b>Lifetime:</b> {@link #close()} closes
 * the vCPU (interrupting and waiting for a run in progress) and the VM fd, which drops every slot.
 */
final class KvmPartition implements Partition {
  private record Slot(int id, MemoryMapping mapping, MemorySegment host) {}

  /** Dirty-log readers of tracked slots, made on first use. Guarded by this. */
  private final java.util.Map<Integer, KvmDirtyLog.Reader> dirtyLogs = new java.util.HashMap<>();

  private final KvmHypervisor hypervisor;
  private final int vmFd;
  private final String label;
  private final TreeMap<Long, Slot> slots = new TreeMap<>();
  private final BitSet usedSlotIds = new BitSet();
  private KvmVcpu vcpu;
  private volatile boolean closed;

  KvmPartition(KvmHypervisor hypervisor, int vmFd, String label) {
    this.hypervisor = hypervisor;
    this.vmFd = vmFd;
    this.label = label;
  }

  int vmFd() {
    return vmFd;
  }

  String label() {
    return label;
  }

  private void ensureOpen() {
    if (closed) {
      throw new ClosedResourceException(describe());
    }
  }

  private String describe() {
    return "kvm partition '" + label + "'";
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
              .formatted(guestAddress, size, hypervisor.host().physicalAddressBits(), limit));
    }
    if (!flags.contains(MemoryFlag.EXECUTE)) {
      throw new MissingCapabilityException(
          KvmErrors.BACKEND, Capability.EXECUTE_PROTECTION, "a mapping without MemoryFlag.EXECUTE");
    }
    if (!flags.contains(MemoryFlag.WRITE) && !hypervisor.has(Capability.READ_ONLY_MEMORY)) {
      throw new MissingCapabilityException(
          KvmErrors.BACKEND, Capability.READ_ONLY_MEMORY, "a mapping without MemoryFlag.WRITE");
    }
    MemoryMapping mapping = new MemoryMapping(guestAddress, size, flags);
    rejectOverlap(slots.floorEntry(guestAddress), mapping);
    rejectOverlap(slots.ceilingEntry(guestAddress), mapping);
    int id = usedSlotIds.nextClearBit(0);
    if (id >= hypervisor.host().memorySlots()) {
      throw new IllegalStateException(
          "all %d KVM memory slots of %s are in use; unmap one or use fewer, larger mappings"
              .formatted(hypervisor.host().memorySlots(), describe()));
    }
    int kvmFlags =
        (flags.contains(MemoryFlag.WRITE) ? 0 : Kvm.KVM_MEM_READONLY)
            | (flags.contains(MemoryFlag.TRACK_DIRTY) ? Kvm.KVM_MEM_LOG_DIRTY_PAGES : 0);
    int result =
        KvmUserspaceMemoryRegion.set(vmFd, id, kvmFlags, guestAddress, size, host.address());
    if (result < 0) {
      throw KvmErrors.failure(
          "KVM_SET_USER_MEMORY_REGION",
          -result,
          "%s: slot %d, GPA 0x%x, size 0x%x, host 0x%x, flags 0x%x"
              .formatted(describe(), id, guestAddress, size, host.address(), kvmFlags));
    }
    usedSlotIds.set(id);
    slots.put(guestAddress, new Slot(id, mapping, host));
    return mapping;
  }

  private static void rejectOverlap(Map.Entry<Long, Slot> neighbour, MemoryMapping mapping) {
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

  /**
   * {@return the slot of {@code mapping}, which must be the very instance {@link #map} returned}
   */
  private Slot slotOf(MemoryMapping mapping) {
    Objects.requireNonNull(mapping, "mapping");
    Slot slot = slots.get(mapping.guestAddress());
    if (slot == null || slot.mapping() != mapping) {
      throw new IllegalArgumentException(
          "%s is not a current mapping of %s (pass the object that map() returned)"
              .formatted(mapping, describe()));
    }
    return slot;
  }

  @Override
  public synchronized void unmap(MemoryMapping mapping) {
    ensureOpen();
    Slot slot = slotOf(mapping);
    int result = KvmUserspaceMemoryRegion.set(vmFd, slot.id(), 0, mapping.guestAddress(), 0, 0);
    if (result < 0) {
      throw KvmErrors.failure(
          "KVM_SET_USER_MEMORY_REGION",
          -result,
          "%s: deleting slot %d at GPA 0x%x"
              .formatted(describe(), slot.id(), mapping.guestAddress()));
    }
    slots.remove(mapping.guestAddress());
    usedSlotIds.clear(slot.id());
    dirtyLogs.remove(slot.id()); // a reused slot id may have another size
  }

  @Override
  public synchronized List<MemoryMapping> mappings() {
    ensureOpen();
    return slots.values().stream().map(Slot::mapping).toList();
  }

  @Override
  public synchronized BitSet dirtyPages(MemoryMapping mapping) {
    ensureOpen();
    Slot slot = slotOf(mapping);
    if (!mapping.flags().contains(MemoryFlag.TRACK_DIRTY)) {
      throw new IllegalArgumentException(
          mapping
              + " was mapped without MemoryFlag.TRACK_DIRTY; map it with that flag to track writes");
    }
    int[] errno = new int[1];
    BitSet dirty =
        dirtyLogs
            .computeIfAbsent(slot.id(), id -> new KvmDirtyLog.Reader(id, mapping.pageCount()))
            .read(vmFd, errno);
    if (dirty == null) {
      throw KvmErrors.failure(
          "KVM_GET_DIRTY_LOG",
          errno[0],
          "%s: slot %d at GPA 0x%x, %d pages"
              .formatted(describe(), slot.id(), mapping.guestAddress(), mapping.pageCount()));
    }
    return dirty;
  }

  @Override
  public synchronized Vcpu createVcpu() {
    ensureOpen();
    if (vcpu != null) {
      throw new IllegalStateException(
          describe()
              + " already has its vCPU; a partition has exactly one (create another partition)");
    }
    vcpu = KvmVcpu.create(this, hypervisor);
    return vcpu;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    KvmVcpu toClose;
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
        slots.clear();
        usedSlotIds.clear();
      }
      // The VM fd goes last: closing it drops the memory slots.
      KvmErrors.released(Libc.close(vmFd), "close", describe() + " VM fd " + vmFd);
      hypervisor.release(this);
      KvmHypervisor.LOG.log(Level.DEBUG, () -> "kvm: closed partition '%s'".formatted(label));
    }
  }

  @Override
  public String toString() {
    return "KvmPartition['" + label + "'" + (closed ? ", closed]" : "]");
  }
}
