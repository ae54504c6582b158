package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * A vCPU's dirty ring: {@code struct kvm_dirty_gfn} of {@code /usr/include/linux/kvm.h}
 * (linux-libc-dev 6.1), the ring of them that KVM shares with userspace at page {@value
 * #KVM_DIRTY_LOG_PAGE_OFFSET} of the vCPU fd once a VM has {@code KVM_CAP_DIRTY_LOG_RING} enabled,
 * and {@code KVM_RESET_DIRTY_RINGS}.
 *
 * <p>The protocol (Documentation/virt/kvm/api.rst, "KVM_CAP_DIRTY_LOG_RING"): when the guest first
 * writes a page of a slot with {@code KVM_MEM_LOG_DIRTY_PAGES}, KVM fills the next entry with the
 * slot ({@code as_id << 16 | slot id}) and the page's offset in the slot, then sets its flags to
 * {@link #KVM_DIRTY_GFN_F_DIRTY} with a store-release. Userspace reads entries in order from where
 * it stopped, while their flags say dirty, and marks each one harvested ({@link
 * #KVM_DIRTY_GFN_F_RESET}); it must not skip one. {@code KVM_RESET_DIRTY_RINGS} on the VM fd then
 * recycles the harvested entries and write-protects their pages again, so the next write is logged
 * anew. Flags are read with acquire and written with release semantics, as the documentation asks
 * of userspace on weakly ordered CPUs; on x86 (TSO) both are plain moves, so this costs nothing and
 * is right under either capability.
 *
 * <p>KVM stops the guest ({@code KVM_EXIT_DIRTY_RING_FULL}) once the ring is full but for a reserve
 * of 64 entries, which it counts on never exceeding before the guest stops. PVM's emulator of CPL-0
 * code breaks that (an entry per emulated write, and no stop within a batch of up to 1024
 * instructions), so the ring can overflow: KVM then writes over entries not yet read and counts
 * entries it holds no data for. {@link #harvest} finding the ring completely full is the sign;
 * {@link #harvestOutOfStep} and {@link #release} bring the indices back in step afterwards (the
 * partition handles the pages lost meanwhile).
 *
 * <p><b>Thread safety:</b> none; one harvester at a time (the partition's lock). {@link #harvest}
 * may run while the vCPU runs (the flags' acquire/release pairs make that safe); the out-of-step
 * methods only while it does not. <b>Lifetime:</b> {@link #unmap()} once, after the vCPU can no
 * longer run and nobody harvests.
 */
public final class KvmDirtyRing {
  /** {@code struct kvm_dirty_gfn}, 16 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_INT.withName("flags"), JAVA_INT.withName("slot"), JAVA_LONG.withName("offset"));

  /** The entry holds a dirty page that userspace has not harvested yet. */
  public static final int KVM_DIRTY_GFN_F_DIRTY = 1;

  /** Userspace harvested the entry; KVM recycles it at {@code KVM_RESET_DIRTY_RINGS}. */
  public static final int KVM_DIRTY_GFN_F_RESET = 1 << 1;

  /** The ring's page offset in the vCPU fd's mapping (x86, {@code <asm/kvm.h>}). */
  public static final int KVM_DIRTY_LOG_PAGE_OFFSET = 64;

  public static final long KVM_RESET_DIRTY_RINGS = Ioctl.io(Ioctl.KVMIO, 0xc7);

  /** {@code sizeof(struct kvm_dirty_gfn)}. */
  public static final int ENTRY_BYTES = (int) LAYOUT.byteSize();

  private static final long PAGE_SIZE = 4096;
  private static final VarHandle FLAGS = LAYOUT.varHandle(groupElement("flags"));
  private static final VarHandle SLOT = LAYOUT.varHandle(groupElement("slot"));
  private static final VarHandle OFFSET = LAYOUT.varHandle(groupElement("offset"));

  /** Receives harvested entries. */
  @FunctionalInterface
  public interface Sink {
    /**
     * One dirty page.
     *
     * @param slot {@code as_id << 16 | slot id}
     * @param offset the page's index in the slot
     */
    void dirty(int slot, long offset);
  }

  private final MemorySegment ring;
  private final int mask;

  /** The free-running index of the next entry to harvest; the ring index is {@code next & mask}. */
  private int next;

  private boolean unmapped;

  private KvmDirtyRing(MemorySegment ring, int entries) {
    this.ring = ring;
    this.mask = entries - 1;
  }

  /**
   * Maps a vCPU's ring: {@code mmap(NULL, entries * 16, PROT_READ|PROT_WRITE, MAP_SHARED, vcpuFd,
   * KVM_DIRTY_LOG_PAGE_OFFSET * 4096)}.
   *
   * @param entries the ring's size in entries, as enabled on the VM (a power of two)
   * @param errno receives the errno when the mapping fails
   * @return the ring, or {@code null} on failure
   */
  public static KvmDirtyRing map(int vcpuFd, int entries, int[] errno) {
    if (Integer.bitCount(entries) != 1) {
      throw new IllegalArgumentException("dirty ring entries " + entries + " not a power of two");
    }
    long bytes = (long) entries * ENTRY_BYTES;
    long address =
        Libc.mmap(
            bytes,
            Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_SHARED,
            vcpuFd,
            KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
    if (address < 0) {
      errno[0] = (int) -address;
      return null;
    }
    return new KvmDirtyRing(Libc.view(address, bytes), entries);
  }

  /** {@return the ring's size in entries} */
  public int entries() {
    return mask + 1;
  }

  /**
   * Harvests every dirty entry from where the last harvest stopped, in order, marking each one
   * harvested. The caller then calls {@link #reset} if this returned more than zero, before the
   * guest runs again: until then KVM logs no further write to those pages.
   *
   * @return the number of entries harvested
   */
  public int harvest(Sink sink) {
    if (unmapped) {
      return 0;
    }
    int harvested = 0;
    // At most one lap: an entry not yet reset by KVM still says RESET, which stops the loop.
    while (harvested <= mask) {
      long entry = (long) (next & mask) * ENTRY_BYTES;
      int flags = (int) FLAGS.getAcquire(ring, entry);
      if ((flags & (KVM_DIRTY_GFN_F_DIRTY | KVM_DIRTY_GFN_F_RESET)) != KVM_DIRTY_GFN_F_DIRTY) {
        break;
      }
      // The acquire above orders these reads after KVM's store-release of the flags.
      sink.dirty((int) SLOT.get(ring, entry), (long) OFFSET.get(ring, entry));
      FLAGS.setRelease(ring, entry, KVM_DIRTY_GFN_F_RESET);
      next++;
      harvested++;
    }
    return harvested;
  }

  /** What {@link #harvestOutOfStep} found. */
  public enum Resync {
    /** No entry is dirty: nothing was logged, or KVM counts only entries it overwrote. */
    NOTHING,
    /** Harvested; from the next reset on, this ring's next index is KVM's again. */
    IN_STEP,
    /** Harvested, but KVM will still count entries ahead of ours: call again after the reset. */
    OUT_OF_STEP,
    /** Every entry was dirty: KVM may have overwritten entries again, and is still ahead. */
    FULL
  }

  /**
   * Harvests a ring whose write index KVM moved on while it was full (an overflow): KVM then counts
   * entries from our next index on that hold nothing (it overwrote their data, and the reset after
   * our last harvest cleared them), and writes new entries after them, wrapping round onto them
   * when it writes more than the ring holds. So, from the next index, the ring reads either as
   * empty entries then dirty ones (only the dirty ones are KVM's latest: the empty ones are
   * released, then the rest harvested: in step again), or as dirty ones from the start (already in
   * step if the entry before the next index is empty), or as dirty, empty, dirty (wrapped: all
   * three runs are taken, and KVM will count the first run again after the reset). Released entries
   * are marked harvested without being read, so the reset moves KVM's reset index over them; only
   * entries KVM counts are ever released.
   *
   * @param harvested receives the number of entries harvested or released ({@code [0]})
   */
  public Resync harvestOutOfStep(Sink sink, int[] harvested) {
    harvested[0] = 0;
    if (unmapped) {
      return Resync.NOTHING;
    }
    int firstDirty = distanceTo(0, true);
    if (firstDirty < 0) {
      return Resync.NOTHING;
    }
    if (firstDirty > 0) {
      release(firstDirty);
      harvested[0] = firstDirty + harvest(sink);
      return Resync.IN_STEP;
    }
    if (!isDirty(mask)) {
      harvested[0] = harvest(sink);
      return Resync.IN_STEP;
    }
    int leading = harvest(sink);
    if (leading > mask) {
      harvested[0] = leading;
      return Resync.FULL;
    }
    int gap = distanceTo(0, true);
    release(gap);
    harvested[0] = leading + gap + harvest(sink);
    return Resync.OUT_OF_STEP;
  }

  /** {@return whether the entry {@code distance} after the next index is dirty} */
  private boolean isDirty(int distance) {
    long entry = (long) ((next + distance) & mask) * ENTRY_BYTES;
    int flags = (int) FLAGS.getAcquire(ring, entry);
    return (flags & (KVM_DIRTY_GFN_F_DIRTY | KVM_DIRTY_GFN_F_RESET)) == KVM_DIRTY_GFN_F_DIRTY;
  }

  /**
   * {@return the distance from the next index to the first entry whose dirtiness is {@code dirty},
   * from {@code from}, or -1}
   */
  private int distanceTo(int from, boolean dirty) {
    for (int distance = from; distance <= mask; distance++) {
      if (isDirty(distance) == dirty) {
        return distance;
      }
    }
    return -1;
  }

  /**
   * Marks the next {@code count} entries harvested without reading them, for the next {@link
   * #reset} to release. Only for entries KVM counts as in use but holds no data for (after an
   * overflow): releasing more than KVM counts would move its reset index past its write index.
   */
  public void release(int count) {
    for (int i = 0; i < count && !unmapped; i++) {
      FLAGS.setRelease(ring, (long) (next & mask) * ENTRY_BYTES, KVM_DIRTY_GFN_F_RESET);
      next++;
    }
  }

  /**
   * {@code KVM_RESET_DIRTY_RINGS} on the VM fd: recycles the harvested entries of every vCPU's ring
   * and write-protects their pages again.
   *
   * @return the number of entries reset, or -errno
   */
  public static int reset(int vmFd) {
    return Libc.ioctl(vmFd, KVM_RESET_DIRTY_RINGS, 0L);
  }

  /**
   * Unmaps the ring; later harvests find nothing. Idempotent.
   *
   * @return 0 or -errno (also 0 when already unmapped)
   */
  public int unmap() {
    if (unmapped) {
      return 0;
    }
    unmapped = true;
    return Libc.munmap(ring.address(), ring.byteSize());
  }
}
