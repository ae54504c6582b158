package dev.glint.hv.whp.internal.sys;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;

/**
 * {@code WHV_REGISTER_VALUE} (a 16-byte union, 16-byte aligned) and the x64 register structures it
 * holds, from {@code WHvGetVirtualProcessorRegisters}' documentation ({@code WinHvPlatformDefs.h}):
 * {@code WHV_X64_SEGMENT_REGISTER}, {@code WHV_X64_TABLE_REGISTER}, {@code
 * WHV_X64_FP_CONTROL_STATUS_REGISTER}, {@code WHV_X64_XMM_CONTROL_STATUS_REGISTER}. Arrays of
 * values are allocated 16-aligned, as the type demands.
 */
public final class WhvRegisterValue {
  private WhvRegisterValue() {}

  /** The size and alignment of one {@code WHV_REGISTER_VALUE}. */
  public static final long BYTES = 16;

  /** {@code WHV_X64_SEGMENT_REGISTER}: Base, Limit, Selector, Attributes (a bit field). */
  public static final StructLayout SEGMENT =
      structLayout(
              JAVA_LONG.withName("Base"),
              JAVA_INT.withName("Limit"),
              JAVA_SHORT.withName("Selector"),
              JAVA_SHORT.withName("Attributes"))
          .withName("WHV_X64_SEGMENT_REGISTER");

  /** {@code WHV_X64_TABLE_REGISTER}: Pad[3], Limit, Base. */
  public static final StructLayout TABLE =
      structLayout(
              sequenceLayout(3, JAVA_SHORT).withName("Pad"),
              JAVA_SHORT.withName("Limit"),
              JAVA_LONG.withName("Base"))
          .withName("WHV_X64_TABLE_REGISTER");

  /** {@code WHV_X64_FP_CONTROL_STATUS_REGISTER}. */
  public static final StructLayout FP_CONTROL_STATUS =
      structLayout(
              JAVA_SHORT.withName("FpControl"),
              JAVA_SHORT.withName("FpStatus"),
              JAVA_BYTE.withName("FpTag"),
              JAVA_BYTE.withName("Reserved"),
              JAVA_SHORT.withName("LastFpOp"),
              JAVA_LONG.withName("LastFpRip"))
          .withName("WHV_X64_FP_CONTROL_STATUS_REGISTER");

  /** {@code WHV_X64_XMM_CONTROL_STATUS_REGISTER}. */
  public static final StructLayout XMM_CONTROL_STATUS =
      structLayout(
              JAVA_LONG.withName("LastFpRdp"),
              JAVA_INT.withName("XmmStatusControl"),
              JAVA_INT.withName("XmmStatusControlMask"))
          .withName("WHV_X64_XMM_CONTROL_STATUS_REGISTER");

  /** {@code WHV_REGISTER_VALUE}: the union, 16 bytes, aligned to 16. */
  public static final UnionLayout LAYOUT =
      MemoryLayout.unionLayout(
              sequenceLayout(2, JAVA_LONG).withName("Reg128"),
              JAVA_LONG.withName("Reg64"),
              JAVA_INT.withName("Reg32"),
              JAVA_SHORT.withName("Reg16"),
              JAVA_BYTE.withName("Reg8"),
              FP_CONTROL_STATUS.withName("FpControlStatus"),
              XMM_CONTROL_STATUS.withName("XmmControlStatus"),
              SEGMENT.withName("Segment"),
              TABLE.withName("Table"))
          .withByteAlignment(16)
          .withName("WHV_REGISTER_VALUE");

  // Attributes bits of WHV_X64_SEGMENT_REGISTER.
  public static final int WHV_X64_SEGMENT_TYPE_MASK = 0x000F;
  public static final int WHV_X64_SEGMENT_NON_SYSTEM = 1 << 4;
  public static final int WHV_X64_SEGMENT_DPL_SHIFT = 5;
  public static final int WHV_X64_SEGMENT_PRESENT = 1 << 7;
  public static final int WHV_X64_SEGMENT_AVAILABLE = 1 << 12;
  public static final int WHV_X64_SEGMENT_LONG = 1 << 13;
  public static final int WHV_X64_SEGMENT_DEFAULT = 1 << 14;
  public static final int WHV_X64_SEGMENT_GRANULARITY = 1 << 15;

  private static final long BASE = 0;
  private static final long LIMIT = 8;
  private static final long SELECTOR = 12;
  private static final long ATTRIBUTES = 14;
  private static final long TABLE_LIMIT = 6;
  private static final long TABLE_BASE = 8;

  static {
    // The hand-written offsets above are the layouts'; a mismatch is a bug here, not a guest's.
    if (SEGMENT.byteOffset(MemoryLayout.PathElement.groupElement("Attributes")) != ATTRIBUTES
        || TABLE.byteOffset(MemoryLayout.PathElement.groupElement("Base")) != TABLE_BASE
        || LAYOUT.byteSize() != BYTES) {
      throw new AssertionError("WHV_REGISTER_VALUE layouts out of step");
    }
  }

  /** {@return {@code count} zeroed register values, 16-byte aligned} */
  public static MemorySegment allocate(SegmentAllocator allocator, int count) {
    return allocator.allocate(BYTES * count, BYTES);
  }

  /** {@return value {@code index}'s 64 bits} */
  public static long reg64(MemorySegment values, int index) {
    return values.get(JAVA_LONG, index * BYTES);
  }

  /** Sets value {@code index} to a zero-extended 64-bit value. */
  public static void setReg64(MemorySegment values, int index, long value) {
    values.set(JAVA_LONG, index * BYTES, value);
    values.set(JAVA_LONG, index * BYTES + 8, 0L);
  }

  /** Reads value {@code index} as a segment register. */
  public static Segment segment(MemorySegment values, int index) {
    long at = index * BYTES;
    int attributes = Short.toUnsignedInt(values.get(JAVA_SHORT, at + ATTRIBUTES));
    boolean present = (attributes & WHV_X64_SEGMENT_PRESENT) != 0;
    return new Segment(
        values.get(JAVA_LONG, at + BASE),
        Integer.toUnsignedLong(values.get(JAVA_INT, at + LIMIT)),
        Short.toUnsignedInt(values.get(JAVA_SHORT, at + SELECTOR)),
        attributes & WHV_X64_SEGMENT_TYPE_MASK,
        present,
        (attributes >> WHV_X64_SEGMENT_DPL_SHIFT) & 3,
        (attributes & WHV_X64_SEGMENT_DEFAULT) != 0,
        (attributes & WHV_X64_SEGMENT_NON_SYSTEM) == 0,
        (attributes & WHV_X64_SEGMENT_LONG) != 0,
        (attributes & WHV_X64_SEGMENT_GRANULARITY) != 0,
        // WHP has no "unusable" attribute: a segment that is not present is not usable.
        !present);
  }

  /** Writes {@code segment} into value {@code index}. */
  public static void setSegment(MemorySegment values, int index, Segment segment) {
    long at = index * BYTES;
    int attributes =
        (segment.type() & WHV_X64_SEGMENT_TYPE_MASK)
            | (segment.system() ? 0 : WHV_X64_SEGMENT_NON_SYSTEM)
            | (segment.dpl() << WHV_X64_SEGMENT_DPL_SHIFT)
            | (segment.present() && !segment.unusable() ? WHV_X64_SEGMENT_PRESENT : 0)
            | (segment.longMode() ? WHV_X64_SEGMENT_LONG : 0)
            | (segment.defaultSize() ? WHV_X64_SEGMENT_DEFAULT : 0)
            | (segment.granularity() ? WHV_X64_SEGMENT_GRANULARITY : 0);
    values.set(JAVA_LONG, at + BASE, segment.base());
    values.set(JAVA_INT, at + LIMIT, (int) segment.limit());
    values.set(JAVA_SHORT, at + SELECTOR, (short) segment.selector());
    values.set(JAVA_SHORT, at + ATTRIBUTES, (short) attributes);
  }

  /** Reads value {@code index} as a table register (GDTR, IDTR). */
  public static DescriptorTable table(MemorySegment values, int index) {
    long at = index * BYTES;
    return new DescriptorTable(
        values.get(JAVA_LONG, at + TABLE_BASE),
        Short.toUnsignedInt(values.get(JAVA_SHORT, at + TABLE_LIMIT)));
  }

  /** Writes a table register into value {@code index}. */
  public static void setTable(MemorySegment values, int index, DescriptorTable table) {
    long at = index * BYTES;
    values.asSlice(at, BYTES).fill((byte) 0);
    values.set(JAVA_SHORT, at + TABLE_LIMIT, (short) table.limit());
    values.set(JAVA_LONG, at + TABLE_BASE, table.base());
  }
}
