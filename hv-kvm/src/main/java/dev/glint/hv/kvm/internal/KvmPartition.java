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
import dev.glint.hv.kvm.internal.sys.KvmDirtyRing;
import dev.glint.hv.kvm.internal.sys.KvmUserspaceMemoryRegion;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
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
 * <p><b>Dirty pages, two ways.</b> Where the VM was created with a dirty ring ({@link
 * KvmHypervisor#dirtyRingEntries()}), KVM appends each newly written page to the vCPU's ring, and
 * {@link #dirtyPages} harvests the ring into per-slot pending sets, resets it ({@code
 * KVM_RESET_DIRTY_RINGS}) and hands out the requested slot's set: its cost follows the pages
 * written, not the slot's size. Pages of other slots wait in their sets for their own call. A ring
 * that fills while the guest runs is harvested the same way by {@link KvmVcpu#run()} ({@code
 * KVM_EXIT_DIRTY_RING_FULL}), which then runs on. Without a ring, {@link #dirtyPages} reads and
 * clears the slot's bitmap ({@code KVM_GET_DIRTY_LOG}), whose cost grows with the slot.
 *
 * <p>Should the ring overflow (KVM wrote on past it, which PVM's CPL-0 emulation does), the pages
 * whose entries were overwritten are unknown: every tracked slot then reports all its pages once,
 * and is write-protected again (logging switched off and on), since KVM never re-protects a page
 * whose entry was not reset and would let the guest write it unlogged; the ring's indices are
 * brought back in step as later entries show where KVM writes. Measured and tested on PVM.
 *
 * <p><b>Thread safety:</b> methods are synchronized, so misuse from several threads cannot corrupt
 * the slot table; the SPI still asks callers to serialize. <b>Lifetime:</b> {@link #close()} closes
 * the vCPU (interrupting and waiting for a run in progress) and the VM fd, which drops every slot.
 */
final class KvmPartition implements Partition {
  private record Slot(int id, MemoryMapping mapping, MemorySegment host) {}

  /** Pages of one tracked slot harvested from the ring and not yet handed out. */
  private static final class Pending {
    final long pages;
    BitSet dirty = new BitSet();

    /** Report every page at the next call: the ring lost entries (see {@link #ringOverflowed}). */
    boolean allDirty;

    /** Report every page at every call: re-protecting the slot after an overflow failed. */
    boolean alwaysAllDirty;

    Pending(long pages) {
      this.pages = pages;
    }
  }

  /** Bitmap mode: dirty-log readers of tracked slots, made on first use. Guarded by this. */
  private final Map<Integer, KvmDirtyLog.Reader> dirtyLogs = new HashMap<>();

  /** Ring mode: the pending pages of each tracked slot, by slot id (null: untracked). */
  private Pending[] pending = new Pending[8];

  /** Ring mode: the vCPU's ring while the vCPU lives. Guarded by this. */
  private KvmDirtyRing dirtyRing;

  /** Whether entries were harvested and KVM_RESET_DIRTY_RINGS has not yet succeeded since. */
  private boolean resetOwed;

  /** How many times a full ring was harvested during a run (for tests). Guarded by this. */
  private long dirtyRingFullExits;

  /** How many times the ring overflowed (for tests). Guarded by this. */
  private long dirtyRingOverflows;

  /**
   * After an overflow: KVM counts entries ahead of our next index that hold nothing, until {@link
   * KvmDirtyRing#harvestOutOfStep} has seen where it writes. Guarded by this.
   */
  private boolean ringDesynced;

  private final int[] harvestedCount = new int[1];

  /** Ring-full exits in a row with nothing dirty in the ring, each answered by a release. */
  private int emptyFullExits;

  /**
   * The most ring-full exits in a row without a dirty entry: each releases half a ring, so this
   * covers KVM counting far more entries than it could ever have written; beyond it something else
   * is wrong, and the run fails rather than spin.
   */
  private static final int MAX_EMPTY_FULL_EXITS = 4096;

  private final KvmDirtyRing.Sink pendingSink = this::notePending;
  private final KvmHypervisor hypervisor;
  private final int vmFd;
  private final String label;
  private final int dirtyRingEntries;
  private final TreeMap<Long, Slot> slots = new TreeMap<>();
  private final BitSet usedSlotIds = new BitSet();
  private KvmVcpu vcpu;
  private volatile boolean closed;

  /**
   * @param dirtyRingEntries the ring size enabled on {@code vmFd}, or 0 when it has none
   */
  KvmPartition(KvmHypervisor hypervisor, int vmFd, String label, int dirtyRingEntries) {
    this.hypervisor = hypervisor;
    this.vmFd = vmFd;
    this.label = label;
    this.dirtyRingEntries = dirtyRingEntries;
  }

  /** {@return the size in entries of each vCPU's dirty ring, or 0 without one} */
  int dirtyRingEntries() {
    return dirtyRingEntries;
  }

  /** {@return whether dirty pages come from the ring rather than KVM_GET_DIRTY_LOG} */
  boolean usesDirtyRing() {
    return dirtyRingEntries > 0;
  }

  /** {@return how many times {@code run()} harvested a full ring, for tests} */
  synchronized long dirtyRingFullExits() {
    return dirtyRingFullExits;
  }

  /** {@return how many times the ring overflowed, for tests} */
  synchronized long dirtyRingOverflows() {
    return dirtyRingOverflows;
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
    int kvmFlags = kvmFlags(flags);
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
    if (usesDirtyRing() && flags.contains(MemoryFlag.TRACK_DIRTY)) {
      if (id >= pending.length) {
        pending = Arrays.copyOf(pending, Math.max(id + 1, 2 * pending.length));
      }
      pending[id] = new Pending(mapping.pageCount());
    }
    return mapping;
  }

  /** {@return the KVM_SET_USER_MEMORY_REGION flags for a mapping's flags} */
  private static int kvmFlags(Set<MemoryFlag> flags) {
    return (flags.contains(MemoryFlag.WRITE) ? 0 : Kvm.KVM_MEM_READONLY)
        | (flags.contains(MemoryFlag.TRACK_DIRTY) ? Kvm.KVM_MEM_LOG_DIRTY_PAGES : 0);
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
    if (slot.id() < pending.length && pending[slot.id()] != null) {
      // Ring entries name slots by id, and the id is reused: take this slot's entries out of the
      // ring now, so none is credited to a later mapping with the same id.
      collectDirtyRing("harvesting before deleting", slot);
    }
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
    if (slot.id() < pending.length) {
      pending[slot.id()] = null; // its pages were the mapping's, which is gone
    }
  }

  @Override
  public synchronized List<MemoryMapping> mappings() {
    ensureOpen();
    return slots.values().stream().map(Slot::mapping).toList();
  }

  /**
   * {@inheritDoc}
   *
   * <p>With a dirty ring this harvests every slot's new entries (keeping other slots' pages for
   * their own calls), resets the ring, and returns this slot's pages: no ioctl at all when nothing
   * was written. Without one it is {@code KVM_GET_DIRTY_LOG} of the slot. Call it while the vCPU is
   * not running, as the restore path does: a page the guest writes during the call is reported by
   * this call or the next, never lost.
   */
  @Override
  public synchronized BitSet dirtyPages(MemoryMapping mapping) {
    ensureOpen();
    Slot slot = slotOf(mapping);
    if (!mapping.flags().contains(MemoryFlag.TRACK_DIRTY)) {
      throw new IllegalArgumentException(
          mapping
              + " was mapped without MemoryFlag.TRACK_DIRTY; map it with that flag to track writes");
    }
    if (usesDirtyRing()) {
      collectDirtyRing("reading dirty pages of", slot);
      Pending slotPending = pending[slot.id()];
      BitSet dirty = slotPending.dirty;
      slotPending.dirty = new BitSet();
      if (slotPending.allDirty || slotPending.alwaysAllDirty) {
        slotPending.allDirty = false;
        dirty.set(0, (int) slotPending.pages);
      }
      return dirty;
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

  /**
   * Harvests the ring into the pending sets and, if anything was harvested (now or by an earlier
   * call whose reset failed), resets it, so KVM logs the next write to those pages. The caller
   * holds this lock.
   *
   * @param doing what the caller was doing, for the exception
   * @param slot the slot it was doing it to, or null; the message is built only on failure (this is
   *     the restore path's hot spot, where formatting would cost more than the harvest)
   * @return the number of entries harvested or released, or -1 when the ring was out of step after
   *     an overflow and no dirty entry showed where KVM writes (then nothing was logged since, or
   *     KVM counts only entries it overwrote)
   */
  private int collectDirtyRing(String doing, Slot slot) {
    if (dirtyRing == null) {
      return 0; // no vCPU (yet, or any more): nothing can have been logged since
    }
    int taken;
    boolean overflowed;
    if (ringDesynced) {
      KvmDirtyRing.Resync found = dirtyRing.harvestOutOfStep(pendingSink, harvestedCount);
      taken = found == KvmDirtyRing.Resync.NOTHING ? -1 : harvestedCount[0];
      resetOwed |= harvestedCount[0] > 0;
      ringDesynced = found != KvmDirtyRing.Resync.IN_STEP;
      overflowed = found == KvmDirtyRing.Resync.FULL;
    } else {
      int harvested = dirtyRing.harvest(pendingSink);
      taken = harvested;
      resetOwed |= harvested > 0;
      // KVM stops the guest while its reserve (64 entries) is still free; a ring found full means
      // it went on writing, over entries not yet read (seen on PVM, whose emulator logs every
      // CPL-0 write and checks the ring only between batches of instructions).
      overflowed = harvested == dirtyRing.entries();
    }
    if (resetOwed) {
      int result = KvmDirtyRing.reset(vmFd);
      if (result < 0) {
        throw KvmErrors.failure(
            "KVM_RESET_DIRTY_RINGS", -result, describe() + ": " + doing + where(slot));
      }
      resetOwed = false;
    }
    if (overflowed) {
      ringOverflowed();
    }
    return taken;
  }

  private static String where(Slot slot) {
    return slot == null
        ? ""
        : " slot %d at GPA 0x%x, %d pages"
            .formatted(slot.id(), slot.mapping().guestAddress(), slot.mapping().pageCount());
  }

  /**
   * The ring overflowed: some pages' entries were overwritten before they were read. They cannot be
   * named, so every tracked slot reports all its pages at its next {@link #dirtyPages} (an
   * over-report, which the SPI allows); and since KVM never re-protects a page whose entry was not
   * reset, each tracked slot's logging is switched off and on, which write-protects all of it, so
   * later writes are logged again. KVM's own indices now count entries it overwrote: {@link
   * #ringDesynced} until the next dirty entry shows where it writes.
   */
  private void ringOverflowed() {
    dirtyRingOverflows++;
    ringDesynced = true;
    KvmHypervisor.LOG.log(
        Level.WARNING,
        () ->
            ("kvm: the dirty ring of %s overflowed (KVM logged more pages than its %d entries hold"
                    + " without stopping the guest, as PVM does for emulated CPL-0 code); every"
                    + " tracked page is reported dirty once")
                .formatted(describe(), dirtyRingEntries));
    for (Pending slotPending : pending) {
      if (slotPending != null) {
        slotPending.allDirty = true;
      }
    }
    for (Slot slot : slots.values()) {
      Pending slotPending = slot.id() < pending.length ? pending[slot.id()] : null;
      if (slotPending == null) {
        continue;
      }
      int flags = kvmFlags(slot.mapping().flags());
      int off =
          KvmUserspaceMemoryRegion.set(
              vmFd,
              slot.id(),
              flags & ~Kvm.KVM_MEM_LOG_DIRTY_PAGES,
              slot.mapping().guestAddress(),
              slot.mapping().size(),
              slot.host().address());
      int on =
          off < 0
              ? off
              : KvmUserspaceMemoryRegion.set(
                  vmFd,
                  slot.id(),
                  flags,
                  slot.mapping().guestAddress(),
                  slot.mapping().size(),
                  slot.host().address());
      if (on < 0) {
        slotPending.alwaysAllDirty = true; // its writes may go unlogged from now on
        throw KvmErrors.failure(
            "KVM_SET_USER_MEMORY_REGION",
            -on,
            describe()
                + ": switching dirty logging off and on after the ring overflowed"
                + where(slot)
                + "; the slot reports all its pages dirty from now on");
      }
    }
  }

  /** Records one harvested ring entry in its slot's pending set. */
  private void notePending(int slot, long offset) {
    int id = slot & 0xFFFF;
    // Address space 1 is x86 SMM, which these VMs never enter; an untracked or deleted slot id
    // cannot have fresh entries, so anything else is dropped rather than misattributed.
    if ((slot >>> 16) != 0 || id >= pending.length) {
      return;
    }
    Pending slotPending = pending[id];
    if (slotPending != null && offset >= 0 && offset < slotPending.pages) {
      slotPending.dirty.set((int) offset);
    }
  }

  /**
   * Called by the vCPU thread on {@code KVM_EXIT_DIRTY_RING_FULL}: harvests and resets, so the
   * guest can run on. Works while the partition closes, since the ring stays mapped until the run
   * has returned.
   */
  synchronized void dirtyRingFull() {
    dirtyRingFullExits++;
    int taken = collectDirtyRing("the vCPU's dirty ring was full", null);
    if (taken > 0) {
      emptyFullExits = 0;
      return;
    }
    if (taken == 0) {
      // KVM says full, yet nothing is where we read next: our index is not KVM's, which only an
      // overflow explains. Handle it as one; the next exit then finds where KVM writes.
      ringOverflowed();
      return;
    }
    // Full, yet nothing in the ring is dirty: every entry KVM counts is one it overwrote in an
    // overflow, so it counts at least its soft limit (ring minus at most 576 reserved entries).
    // Release half a ring less 64, which is never more than that, and let the guest run on; the
    // next exit either finds dirty entries past the released ones or releases more.
    if (++emptyFullExits > MAX_EMPTY_FULL_EXITS) {
      throw KvmErrors.fault(
          "KVM_EXIT_DIRTY_RING_FULL",
          describe()
              + ": the dirty ring stays full with no entry to harvest after %d releases; KVM's ring state is not what an overflow leaves"
                  .formatted(MAX_EMPTY_FULL_EXITS));
    }
    dirtyRing.release(dirtyRing.entries() / 2 - 64);
    int result = KvmDirtyRing.reset(vmFd);
    if (result < 0) {
      throw KvmErrors.failure(
          "KVM_RESET_DIRTY_RINGS", -result, describe() + ": releasing overwritten ring entries");
    }
  }

  /**
   * Called by the vCPU's close once it can no longer run: keeps the pages its ring still holds (so
   * a later {@link #dirtyPages} reports them) and forgets the ring, which the vCPU then unmaps. No
   * reset: no guest write can follow.
   */
  synchronized void detachDirtyRing() {
    if (dirtyRing != null) {
      if (!closed && (ringDesynced || dirtyRing.harvest(pendingSink) == dirtyRing.entries())) {
        for (Pending slotPending : pending) {
          if (slotPending != null) {
            slotPending.allDirty = true; // entries may be lost; no re-protect: no write can follow
          }
        }
      }
      dirtyRing = null;
    }
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
    dirtyRing = vcpu.dirtyRing();
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
        dirtyLogs.clear();
        Arrays.fill(pending, null);
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
