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
    try (Arena arena = Arena.ofConfined()) {
      // The kernel writes ALIGN(pages, 64) / 8 bytes, as an array of unsigned longs.
      MemorySegment bitmap = arena.allocate(JAVA_LONG, (pages + 63) / 64);
      MemorySegment log = arena.allocate(LAYOUT);
      SLOT.set(log, 0L, slot);
      DIRTY_BITMAP.set(log, 0L, bitmap);
      int result = Libc.ioctl(vmFd, KVM_GET_DIRTY_LOG, log);
      if (result < 0) {
        errno[0] = -result;
        return null;
      }
      return BitSet.valueOf(bitmap.toArray(JAVA_LONG));
    }
  }
}
