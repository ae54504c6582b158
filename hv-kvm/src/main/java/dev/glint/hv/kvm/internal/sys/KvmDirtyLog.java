package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.BitSet;

/**
 * {@code struct kvm_dirty_log} of {@code /usr/include/linux/kvm.h} (linux-libc-dev 6.1) and the
 * classic {@code KVM_GET_DIRTY_LOG}: it returns the slot's dirty bitmap and clears it (without
 * {@code KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2} enabled), starting a new interval.
 */
public final class KvmDirtyLog {
  /** The layout, 16 bytes: {@code dirty_bitmap} shares a union with a {@code __u64} pad. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_INT.withName("slot"),
          JAVA_INT.withName("padding1"),
          MemoryLayout.unionLayout(ADDRESS.withName("dirty_bitmap"), JAVA_LONG.withName("padding2"))
              .withName("u"));

  public static final long KVM_GET_DIRTY_LOG = Ioctl.iow(Ioctl.KVMIO, 0x42, LAYOUT.byteSize());

  private static final VarHandle SLOT = LAYOUT.varHandle(groupElement("slot"));
  private static final VarHandle DIRTY_BITMAP =
      LAYOUT.varHandle(groupElement("u"), groupElement("dirty_bitmap"));

  private KvmDirtyLog() {}

  /**
   * Reads and clears the dirty bitmap of a slot.
   *
   * @param pages the slot's size in pages
   * @param errno receives the errno when the call fails
   * @return bit {@code i} set when page {@code i} of the slot was written, or {@code null} on
   *     failure
   */
  public static BitSet get(int vmFd, int slot, long pages, int[] errno) {
    return new Reader(slot, pages).read(vmFd, errno);
  }

  /**
   * Reads one slot's dirty log again and again with the same native buffers: a restore reads it
   * once per call, and the log of a 256 MiB slot is 8 KiB. Not thread-safe.
   */
  public static final class Reader {
    private final MemorySegment bitmap;
    private final MemorySegment log;

    /**
     * @param slot the memory slot
     * @param pages the slot's size in pages
     */
    public Reader(int slot, long pages) {
      Arena arena = Arena.ofAuto();
      // The kernel writes ALIGN(pages, 64) / 8 bytes, as an array of unsigned longs.
      this.bitmap = arena.allocate(JAVA_LONG, (pages + 63) / 64);
      this.log = arena.allocate(LAYOUT);
      SLOT.set(log, 0L, slot);
      DIRTY_BITMAP.set(log, 0L, bitmap);
    }

    /**
     * Reads and clears the dirty log.
     *
     * @param errno receives the errno when the call fails
     * @return bit {@code i} set when page {@code i} of the slot was written, or {@code null} on
     *     failure
     */
    public BitSet read(int vmFd, int[] errno) {
      int result = Libc.ioctl(vmFd, KVM_GET_DIRTY_LOG, log);
      if (result < 0) {
        errno[0] = -result;
        return null;
      }
      BitSet dirty = new BitSet();
      long words = bitmap.byteSize() / Long.BYTES;
      for (long i = 0; i < words; i++) {
        long word = bitmap.getAtIndex(JAVA_LONG, i);
        while (word != 0) {
          dirty.set((int) (i * 64 + Long.numberOfTrailingZeros(word)));
          word &= word - 1;
        }
      }
      return dirty;
    }
  }
}
