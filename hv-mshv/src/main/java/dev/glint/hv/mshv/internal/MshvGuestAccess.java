package dev.glint.hv.mshv.internal;

import dev.glint.hv.SpecialRegisters;

/**
 * Guest memory at linear addresses, for the string I/O the VMM completes itself ({@code ins},
 * {@code outs}): translates through the guest's own page tables, read from the partition's
 * mappings, never trusting them. Paging off (real or protected mode without CR0.PG) and 4- or
 * 5-level long-mode paging are supported, with 2 MiB and 1 GiB pages; 32-bit and PAE paging without
 * long mode are not (a string I/O there becomes an internal error). Access rights are not checked:
 * the guest's own instruction already passed the processor's checks before it was intercepted.
 */
final class MshvGuestAccess {
  private static final long CR0_PG = 1L << 31;
  private static final long CR4_PAE = 1L << 5;
  private static final long CR4_LA57 = 1L << 12;
  private static final long EFER_LMA = 1L << 10;
  private static final long PRESENT = 1;
  private static final long LARGE = 1L << 7;
  private static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

  private MshvGuestAccess() {}

  /** {@return the guest-physical address of {@code linear}, or -1 if it has none} */
  static long translate(MshvPartition partition, SpecialRegisters s, long linear) {
    if ((s.cr0() & CR0_PG) == 0) {
      return (s.efer() & EFER_LMA) != 0 ? linear : linear & 0xFFFF_FFFFL;
    }
    if ((s.efer() & EFER_LMA) == 0 || (s.cr4() & CR4_PAE) == 0) {
      return -1; // 32-bit or PAE paging outside long mode: not supported
    }
    int levels = (s.cr4() & CR4_LA57) != 0 ? 5 : 4;
    long table = s.cr3() & ADDRESS;
    for (int level = levels; level >= 1; level--) {
      int shift = 12 + 9 * (level - 1);
      long index = (linear >>> shift) & 0x1FF;
      long entry = partition.readGuestLong(table + 8 * index);
      if (entry == -1 || (entry & PRESENT) == 0) {
        return -1;
      }
      if (level == 1 || ((level == 2 || level == 3) && (entry & LARGE) != 0)) {
        long pageMask = (1L << shift) - 1;
        return (entry & ADDRESS & ~pageMask) | (linear & pageMask);
      }
      table = entry & ADDRESS;
    }
    return -1;
  }

  /** Reads {@code size} bytes at {@code linear}, little-endian. {@return them, or null} */
  static Long read(MshvPartition partition, SpecialRegisters s, long linear, int size) {
    long value = 0;
    for (int i = 0; i < size; i++) {
      long gpa = translate(partition, s, linear + i);
      int b = gpa < 0 ? -1 : partition.readGuestByte(gpa);
      if (b < 0) {
        return null;
      }
      value |= (long) b << (8 * i);
    }
    return value;
  }

  /**
   * Writes the low {@code size} bytes of {@code value} at {@code linear}. {@return whether all
   * were}
   */
  static boolean write(
      MshvPartition partition, SpecialRegisters s, long linear, int size, long value) {
    for (int i = 0; i < size; i++) {
      long gpa = translate(partition, s, linear + i);
      if (gpa < 0 || !partition.writeGuestByte(gpa, (byte) (value >>> (8 * i)))) {
        return false;
      }
    }
    return true;
  }
}
