package dev.glint.hv.emulated.internal.memory;

import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * One mapping of the guest-physical address space onto host memory: the emulated counterpart of a
 * KVM memory slot. Dirty pages are recorded here by the MMU (when it grants write access to a page)
 * and handed out by {@link PhysicalMemory#dirtyPages}.
 *
 * <p>Confined to the partition's callers and its vCPU thread, which the SPI serializes.
 */
public final class Region {
  final MemoryMapping mapping;
  final MemorySegment host;
  final long start;
  final long end;
  final boolean writable;
  final boolean tracked;
  private BitSet dirty = new BitSet();

  Region(MemoryMapping mapping, MemorySegment host) {
    this.mapping = mapping;
    this.host = host;
    this.start = mapping.guestAddress();
    this.end = mapping.endAddress();
    this.writable = mapping.flags().contains(MemoryFlag.WRITE);
    this.tracked = mapping.flags().contains(MemoryFlag.TRACK_DIRTY);
  }

  /** {@return the mapping this region implements} */
  public MemoryMapping mapping() {
    return mapping;
  }

  /** {@return the host memory behind the region} */
  public MemorySegment host() {
    return host;
  }

  /** {@return the first guest-physical address} */
  public long start() {
    return start;
  }

  /** {@return whether the guest may write the region (a read-only one exits as MMIO)} */
  public boolean writable() {
    return writable;
  }

  /** Records a guest write to the page holding {@code gpa}, if the region tracks writes. */
  public void markDirty(long gpa) {
    if (tracked) {
      dirty.set((int) ((gpa - start) / Partition.PAGE_SIZE));
    }
  }

  /** {@return the pages written since the last call, and starts a new interval} */
  BitSet takeDirty() {
    BitSet taken = dirty;
    dirty = new BitSet();
    return taken;
  }
}
