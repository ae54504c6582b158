package dev.glint.sandbox.internal.snapshot;

import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireCodec;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The byte layout of snapshot format version 1, as {@code docs/snapshot-file.md} tables it. Every
 * offset below is from the start of the file; all integers are little-endian. The fixed header has
 * fixed offsets for every field, so a field never moves with the length of another.
 */
final class SnapshotLayout {
  private SnapshotLayout() {}

  /** "GLINTSNP". */
  static final byte[] MAGIC = "GLINTSNP".getBytes(StandardCharsets.US_ASCII);

  /** The one format version this code reads and writes. */
  static final int FORMAT_VERSION = 1;

  /** Flags bit 0: the FPU area holds a state (else it is all zero). */
  static final int FLAG_FPU = 1;

  /** The page size of the presence bitmap and of the stored pages. */
  static final long PAGE = 4096;

  static final ValueLayout.OfShort U16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfInt U32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfLong U64 =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  static final int MAGIC_OFFSET = 0;
  static final int VERSION_OFFSET = 8;
  static final int FLAGS_OFFSET = 12;
  static final int FILE_SIZE_OFFSET = 16;
  static final int FUNCTION_COUNT_OFFSET = 24;
  static final int FUNCTION_TABLE_SIZE_OFFSET = 28;
  static final int BITMAP_PAGES_OFFSET = 32;
  static final int STORED_PAGES_OFFSET = 36;
  static final int ABI_MAJOR_OFFSET = 40;
  static final int CPL_OFFSET = 44;
  static final int BACKEND_LENGTH_OFFSET = 48;
  static final int RESERVED_OFFSET = 52;
  static final int BACKEND_OFFSET = 56;

  /** The backend name field: the name, then zero bytes. */
  static final int BACKEND_FIELD_SIZE = 64;

  /** The eleven u64 fields of the memory plan, in record-component order. */
  static final int PLAN_OFFSET = 120;

  static final int PLAN_FIELDS = 11;

  /** The eighteen u64 registers, in {@link dev.glint.hv.Register} order. */
  static final int REGISTERS_OFFSET = PLAN_OFFSET + PLAN_FIELDS * 8; // 208

  static final int REGISTER_COUNT = 18;

  /** CS, DS, ES, FS, GS, SS, TR, LDT: one 24-byte entry each. */
  static final int SEGMENTS_OFFSET = REGISTERS_OFFSET + REGISTER_COUNT * 8; // 352

  static final int SEGMENT_SIZE = 24;
  static final int SEGMENT_COUNT = 8;
  static final int SEGMENT_BASE = 0;
  static final int SEGMENT_LIMIT = 8;
  static final int SEGMENT_SELECTOR = 12;
  static final int SEGMENT_TYPE = 14;
  static final int SEGMENT_DPL = 15;
  static final int SEGMENT_ATTRIBUTES = 16;
  static final int SEGMENT_RESERVED = 17;

  /** Segment attribute bits, in {@link dev.glint.hv.Segment} component order. */
  static final int ATTR_PRESENT = 1;

  static final int ATTR_DEFAULT_SIZE = 1 << 1;
  static final int ATTR_SYSTEM = 1 << 2;
  static final int ATTR_LONG_MODE = 1 << 3;
  static final int ATTR_GRANULARITY = 1 << 4;
  static final int ATTR_UNUSABLE = 1 << 5;
  static final int ATTR_ALL = (1 << 6) - 1;

  /** GDTR then IDTR: one 16-byte entry each (u64 base, u16 limit, 6 zero bytes). */
  static final int GDT_OFFSET = SEGMENTS_OFFSET + SEGMENT_COUNT * SEGMENT_SIZE; // 544

  static final int IDT_OFFSET = GDT_OFFSET + 16; // 560
  static final int TABLE_LIMIT = 8;
  static final int TABLE_RESERVED = 10;
  static final int TABLE_SIZE = 16;

  /** CR0, CR2, CR3, CR4, CR8, EFER, APIC base: u64 each. */
  static final int CONTROL_OFFSET = IDT_OFFSET + TABLE_SIZE; // 576

  static final int CONTROL_COUNT = 7;

  /** The FPU area, present or not (all zero when the flags say it is absent). */
  static final int FPU_OFFSET = CONTROL_OFFSET + CONTROL_COUNT * 8; // 632

  static final int FPU_X87 = 0;
  static final int FPU_FCW = 128;
  static final int FPU_FSW = 130;
  static final int FPU_FTW = 132;
  static final int FPU_RESERVED1 = 133;
  static final int FPU_FOP = 134;
  static final int FPU_FIP = 136;
  static final int FPU_FDP = 144;
  static final int FPU_MXCSR = 152;
  static final int FPU_RESERVED2 = 156;
  static final int FPU_XMM = 160;
  static final int FPU_SIZE = 416;

  /** The size of the fixed header; the function table follows it. */
  static final int FIXED_SIZE = FPU_OFFSET + FPU_SIZE; // 1048

  /** The most bytes one function-table entry can take: lengths, name, tags. */
  static final int MAX_ENTRY_SIZE = 2 + 255 + 1 + 1 + FunctionSignature.MAX_PARAMETERS;

  /** The largest function table, bounded before anything is read for it. */
  static final int MAX_FUNCTION_TABLE_SIZE = WireCodec.MAX_FUNCTIONS * MAX_ENTRY_SIZE;

  /** The most pages a memory can have: 16 GiB of 4 KiB pages. */
  static final long MAX_PAGES = SnapshotRules.MAX_MEMORY_SIZE / PAGE;

  /** {@return the bytes of a bitmap for {@code pages} pages} */
  static long bitmapBytes(long pages) {
    return (pages + 7) / 8;
  }

  /** {@return {@code value} rounded up to a page boundary} */
  static long pageAlign(long value) {
    return (value + PAGE - 1) & -PAGE;
  }
}
