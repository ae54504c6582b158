package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.invoke.VarHandle;

/**
 * VP registers through the root hypercall pass-through: {@code MSHV_ROOT_HVCALL} with {@code
 * HvCallGetVpRegisters} (0x0050) and {@code HvCallSetVpRegisters} (0x0051), rep hypercalls whose
 * rep count is the number of registers. Layouts and names from {@code include/hyperv/hvgdk_mini.h}
 * ({@code hv_x64_segment_register}, {@code hv_x64_table_register}, {@code hv_register_value},
 * {@code hv_register_assoc}, {@code hv_input_get_vp_registers}, {@code hv_input_set_vp_registers},
 * {@code enum hv_register_name}, {@code HVCALL_*}, {@code HV_STATUS_*}), all {@code __packed}; the
 * pass-through's rules from {@code struct mshv_root_hvcall}'s documentation in {@code
 * include/uapi/linux/mshv.h}. Checked by {@code MshvLayoutTest}.
 *
 * <p>An instance owns the buffers of one VP's hypercalls (the argument struct and one page each of
 * input and output): confined to one thread at a time, as the VP is.
 */
public final class HvRegisters {
  /** {@code struct hv_x64_segment_register}: 16 bytes. */
  public static final StructLayout SEGMENT =
      MemoryLayout.structLayout(
              JAVA_LONG_UNALIGNED.withName("base"),
              JAVA_INT_UNALIGNED.withName("limit"),
              JAVA_SHORT_UNALIGNED.withName("selector"),
              JAVA_SHORT_UNALIGNED.withName("attributes"))
          .withName("hv_x64_segment_register");

  /** {@code struct hv_x64_table_register}: 16 bytes. */
  public static final StructLayout TABLE =
      MemoryLayout.structLayout(
              MemoryLayout.sequenceLayout(3, JAVA_SHORT_UNALIGNED).withName("pad"),
              JAVA_SHORT_UNALIGNED.withName("limit"),
              JAVA_LONG_UNALIGNED.withName("base"))
          .withName("hv_x64_table_register");

  /** {@code struct hv_u128}: 16 bytes. */
  public static final StructLayout U128 =
      MemoryLayout.structLayout(
              JAVA_LONG_UNALIGNED.withName("low_part"), JAVA_LONG_UNALIGNED.withName("high_part"))
          .withName("hv_u128");

  /** {@code union hv_register_value}: 16 bytes (the members Glint uses). */
  public static final UnionLayout VALUE =
      MemoryLayout.unionLayout(
              U128.withName("reg128"),
              JAVA_LONG_UNALIGNED.withName("reg64"),
              SEGMENT.withName("segment"),
              TABLE.withName("table"))
          .withName("hv_register_value");

  /** {@code struct hv_register_assoc}: 32 bytes. */
  public static final StructLayout ASSOC =
      MemoryLayout.structLayout(
              JAVA_INT_UNALIGNED.withName("name"),
              JAVA_INT_UNALIGNED.withName("reserved1"),
              JAVA_LONG_UNALIGNED.withName("reserved2"),
              VALUE.withName("value"))
          .withName("hv_register_assoc");

  /**
   * The fixed part of {@code struct hv_input_get_vp_registers} and {@code
   * hv_input_set_vp_registers}: 16 bytes, followed by the names (4 bytes each) or the register
   * associations (32 bytes each).
   */
  public static final StructLayout INPUT_HEADER =
      MemoryLayout.structLayout(
              JAVA_LONG_UNALIGNED.withName("partition_id"),
              JAVA_INT_UNALIGNED.withName("vp_index"),
              JAVA_BYTE.withName("input_vtl"),
              JAVA_BYTE.withName("rsvd_z8"),
              JAVA_SHORT_UNALIGNED.withName("rsvd_z16"))
          .withName("hv_input_get_vp_registers");

  public static final int HVCALL_GET_VP_REGISTERS = 0x0050;
  public static final int HVCALL_SET_VP_REGISTERS = 0x0051;

  public static final int HV_STATUS_SUCCESS = 0x0;
  public static final int HV_STATUS_INVALID_HYPERCALL_CODE = 0x2;
  public static final int HV_STATUS_INVALID_HYPERCALL_INPUT = 0x3;
  public static final int HV_STATUS_INVALID_ALIGNMENT = 0x4;
  public static final int HV_STATUS_INVALID_PARAMETER = 0x5;
  public static final int HV_STATUS_ACCESS_DENIED = 0x6;
  public static final int HV_STATUS_INVALID_PARTITION_STATE = 0x7;
  public static final int HV_STATUS_OPERATION_DENIED = 0x8;
  public static final int HV_STATUS_INSUFFICIENT_MEMORY = 0xB;
  public static final int HV_STATUS_INVALID_PARTITION_ID = 0xD;
  public static final int HV_STATUS_INVALID_VP_INDEX = 0xE;
  public static final int HV_STATUS_INVALID_VP_STATE = 0x15;
  public static final int HV_STATUS_INVALID_REGISTER_VALUE = 0x50;

  public static final int HV_X64_REGISTER_RAX = 0x00020000;
  public static final int HV_X64_REGISTER_RCX = 0x00020001;
  public static final int HV_X64_REGISTER_RDX = 0x00020002;
  public static final int HV_X64_REGISTER_RBX = 0x00020003;
  public static final int HV_X64_REGISTER_RSP = 0x00020004;
  public static final int HV_X64_REGISTER_RBP = 0x00020005;
  public static final int HV_X64_REGISTER_RSI = 0x00020006;
  public static final int HV_X64_REGISTER_RDI = 0x00020007;
  public static final int HV_X64_REGISTER_R8 = 0x00020008;
  public static final int HV_X64_REGISTER_R9 = 0x00020009;
  public static final int HV_X64_REGISTER_R10 = 0x0002000A;
  public static final int HV_X64_REGISTER_R11 = 0x0002000B;
  public static final int HV_X64_REGISTER_R12 = 0x0002000C;
  public static final int HV_X64_REGISTER_R13 = 0x0002000D;
  public static final int HV_X64_REGISTER_R14 = 0x0002000E;
  public static final int HV_X64_REGISTER_R15 = 0x0002000F;
  public static final int HV_X64_REGISTER_RIP = 0x00020010;
  public static final int HV_X64_REGISTER_RFLAGS = 0x00020011;
  public static final int HV_X64_REGISTER_CR0 = 0x00040000;
  public static final int HV_X64_REGISTER_CR2 = 0x00040001;
  public static final int HV_X64_REGISTER_CR3 = 0x00040002;
  public static final int HV_X64_REGISTER_CR4 = 0x00040003;
  public static final int HV_X64_REGISTER_CR8 = 0x00040004;
  public static final int HV_X64_REGISTER_ES = 0x00060000;
  public static final int HV_X64_REGISTER_CS = 0x00060001;
  public static final int HV_X64_REGISTER_SS = 0x00060002;
  public static final int HV_X64_REGISTER_DS = 0x00060003;
  public static final int HV_X64_REGISTER_FS = 0x00060004;
  public static final int HV_X64_REGISTER_GS = 0x00060005;
  public static final int HV_X64_REGISTER_LDTR = 0x00060006;
  public static final int HV_X64_REGISTER_TR = 0x00060007;
  public static final int HV_X64_REGISTER_IDTR = 0x00070000;
  public static final int HV_X64_REGISTER_GDTR = 0x00070001;
  public static final int HV_X64_REGISTER_EFER = 0x00080001;
  public static final int HV_X64_REGISTER_APIC_BASE = 0x00080003;

  /** Segment attribute bits: type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13, D/B 14, G 15. */
  public static final int HV_SEGMENT_NON_SYSTEM = 1 << 4;

  public static final int HV_SEGMENT_DPL_SHIFT = 5;
  public static final int HV_SEGMENT_PRESENT = 1 << 7;
  public static final int HV_SEGMENT_LONG = 1 << 13;
  public static final int HV_SEGMENT_DEFAULT = 1 << 14;
  public static final int HV_SEGMENT_GRANULARITY = 1 << 15;

  /** The general registers in {@link Registers}'s component order. */
  private static final int[] GENERAL = {
    HV_X64_REGISTER_RAX,
    HV_X64_REGISTER_RBX,
    HV_X64_REGISTER_RCX,
    HV_X64_REGISTER_RDX,
    HV_X64_REGISTER_RSI,
    HV_X64_REGISTER_RDI,
    HV_X64_REGISTER_RSP,
    HV_X64_REGISTER_RBP,
    HV_X64_REGISTER_R8,
    HV_X64_REGISTER_R9,
    HV_X64_REGISTER_R10,
    HV_X64_REGISTER_R11,
    HV_X64_REGISTER_R12,
    HV_X64_REGISTER_R13,
    HV_X64_REGISTER_R14,
    HV_X64_REGISTER_R15,
    HV_X64_REGISTER_RIP,
    HV_X64_REGISTER_RFLAGS
  };

  /** The special registers in {@link SpecialRegisters}'s component order. */
  private static final int[] SPECIAL = {
    HV_X64_REGISTER_CS,
    HV_X64_REGISTER_DS,
    HV_X64_REGISTER_ES,
    HV_X64_REGISTER_FS,
    HV_X64_REGISTER_GS,
    HV_X64_REGISTER_SS,
    HV_X64_REGISTER_TR,
    HV_X64_REGISTER_LDTR,
    HV_X64_REGISTER_GDTR,
    HV_X64_REGISTER_IDTR,
    HV_X64_REGISTER_CR0,
    HV_X64_REGISTER_CR2,
    HV_X64_REGISTER_CR3,
    HV_X64_REGISTER_CR4,
    HV_X64_REGISTER_CR8,
    HV_X64_REGISTER_EFER,
    HV_X64_REGISTER_APIC_BASE
  };

  /** {@return the general register number (x86 encoding order) of each HV_X64_REGISTER_RAX..R15} */
  public static int generalRegisterName(int encoding) {
    return HV_X64_REGISTER_RAX + encoding;
  }

  private static final long VALUE_BYTES = VALUE.byteSize();
  private static final long ASSOC_BYTES = ASSOC.byteSize();
  private static final long HEADER_BYTES = INPUT_HEADER.byteSize();
  private static final long VALUE_OFFSET = ASSOC.byteOffset(groupElement("value"));
  private static final long ARG_CODE = Mshv.ROOT_HVCALL.byteOffset(groupElement("code"));
  private static final long ARG_REPS = Mshv.ROOT_HVCALL.byteOffset(groupElement("reps"));
  private static final long ARG_IN_SZ = Mshv.ROOT_HVCALL.byteOffset(groupElement("in_sz"));
  private static final long ARG_OUT_SZ = Mshv.ROOT_HVCALL.byteOffset(groupElement("out_sz"));
  private static final long ARG_STATUS = Mshv.ROOT_HVCALL.byteOffset(groupElement("status"));
  private static final long ARG_IN_PTR = Mshv.ROOT_HVCALL.byteOffset(groupElement("in_ptr"));
  private static final long ARG_OUT_PTR = Mshv.ROOT_HVCALL.byteOffset(groupElement("out_ptr"));
  private static final VarHandle VP_INDEX = INPUT_HEADER.varHandle(groupElement("vp_index"));

  private final int vpFd;
  private final int vpIndex;
  private final MemorySegment args;
  private final MemorySegment input;
  private final MemorySegment output;

  /** The status and reps completed of the last failed call, for the exception. */
  private int lastStatus;

  private int lastReps;

  /**
   * Creates the buffers for hypercalls on {@code vpFd} about VP {@code vpIndex}; they live as long
   * as {@code arena}.
   */
  public HvRegisters(int vpFd, int vpIndex, Arena arena) {
    this.vpFd = vpFd;
    this.vpIndex = vpIndex;
    this.args = arena.allocate(Mshv.ROOT_HVCALL);
    this.input = arena.allocate(Mshv.MSHV_HV_PAGE_SIZE, Mshv.MSHV_HV_PAGE_SIZE);
    this.output = arena.allocate(Mshv.MSHV_HV_PAGE_SIZE, Mshv.MSHV_HV_PAGE_SIZE);
  }

  /** {@return the HV_STATUS of the last call that failed} */
  public int lastStatus() {
    return lastStatus;
  }

  /** {@return the reps completed by the last call that failed} */
  public int lastReps() {
    return lastReps;
  }

  private int call(int code, int reps, long inSize, long outSize) {
    args.fill((byte) 0); // status and rsvd must be zero
    args.set(JAVA_SHORT_UNALIGNED, ARG_CODE, (short) code);
    args.set(JAVA_SHORT_UNALIGNED, ARG_REPS, (short) reps);
    args.set(JAVA_SHORT_UNALIGNED, ARG_IN_SZ, (short) inSize);
    args.set(JAVA_SHORT_UNALIGNED, ARG_OUT_SZ, (short) outSize);
    args.set(JAVA_LONG_UNALIGNED, ARG_IN_PTR, input.address());
    args.set(JAVA_LONG_UNALIGNED, ARG_OUT_PTR, outSize == 0 ? 0 : output.address());
    input.asSlice(0, HEADER_BYTES).fill((byte) 0); // the kernel fills in the partition id
    VP_INDEX.set(input, 0L, vpIndex);
    int result = Libc.ioctl(vpFd, Mshv.MSHV_ROOT_HVCALL, args);
    if (result < 0) {
      lastStatus = Short.toUnsignedInt(args.get(JAVA_SHORT_UNALIGNED, ARG_STATUS));
      lastReps = Short.toUnsignedInt(args.get(JAVA_SHORT_UNALIGNED, ARG_REPS));
    }
    return result;
  }

  /**
   * HvCallGetVpRegisters for {@code names}; the 16-byte values land in the output buffer, read with
   * {@link #value}. {@return 0 or -errno}
   */
  public int get(int... names) {
    for (int i = 0; i < names.length; i++) {
      input.set(JAVA_INT_UNALIGNED, HEADER_BYTES + 4L * i, names[i]);
    }
    return call(
        HVCALL_GET_VP_REGISTERS,
        names.length,
        HEADER_BYTES + 4L * names.length,
        VALUE_BYTES * names.length);
  }

  /** {@return the low 64 bits of value {@code index} of the last {@link #get}} */
  public long value(int index) {
    return output.get(JAVA_LONG_UNALIGNED, VALUE_BYTES * index);
  }

  /** Sets element {@code index} of the next {@link #set} to a 64-bit value. */
  public void put(int index, int name, long value) {
    MemorySegment element = element(index, name);
    element.set(JAVA_LONG_UNALIGNED, VALUE_OFFSET, value);
  }

  private MemorySegment element(int index, int name) {
    MemorySegment element = input.asSlice(HEADER_BYTES + ASSOC_BYTES * index, ASSOC_BYTES);
    element.fill((byte) 0);
    element.set(JAVA_INT_UNALIGNED, 0, name);
    return element;
  }

  /** HvCallSetVpRegisters of the first {@code count} elements put. {@return 0 or -errno} */
  public int set(int count) {
    return call(HVCALL_SET_VP_REGISTERS, count, HEADER_BYTES + ASSOC_BYTES * count, 0);
  }

  /** Reads the general registers. {@return them, or null with -errno in {@code errno[0]}} */
  public Registers readGeneral(int[] errno) {
    int result = get(GENERAL);
    if (result < 0) {
      errno[0] = -result;
      return null;
    }
    long[] values = new long[GENERAL.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = value(i);
    }
    return Registers.fromArray(values);
  }

  /** Writes the general registers. {@return 0 or -errno} */
  public int writeGeneral(Registers registers) {
    long[] values = registers.toArray();
    for (int i = 0; i < GENERAL.length; i++) {
      put(i, GENERAL[i], values[i]);
    }
    return set(GENERAL.length);
  }

  /** Reads the special registers. {@return them, or null with -errno in {@code errno[0]}} */
  public SpecialRegisters readSpecial(int[] errno) {
    int result = get(SPECIAL);
    if (result < 0) {
      errno[0] = -result;
      return null;
    }
    return new SpecialRegisters(
        segment(0),
        segment(1),
        segment(2),
        segment(3),
        segment(4),
        segment(5),
        segment(6),
        segment(7),
        table(8),
        table(9),
        value(10),
        value(11),
        value(12),
        value(13),
        value(14),
        value(15),
        value(16));
  }

  /** Writes the special registers. {@return 0 or -errno} */
  public int writeSpecial(SpecialRegisters s) {
    Segment[] segments = {s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt()};
    for (int i = 0; i < segments.length; i++) {
      putSegment(element(i, SPECIAL[i]).asSlice(VALUE_OFFSET, VALUE_BYTES), segments[i]);
    }
    putTable(element(8, SPECIAL[8]).asSlice(VALUE_OFFSET, VALUE_BYTES), s.gdt());
    putTable(element(9, SPECIAL[9]).asSlice(VALUE_OFFSET, VALUE_BYTES), s.idt());
    long[] values = {s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()};
    for (int i = 0; i < values.length; i++) {
      put(10 + i, SPECIAL[10 + i], values[i]);
    }
    return set(SPECIAL.length);
  }

  private Segment segment(int index) {
    return decodeSegment(output.asSlice(VALUE_BYTES * index, VALUE_BYTES), 0);
  }

  private DescriptorTable table(int index) {
    long offset = VALUE_BYTES * index;
    return new DescriptorTable(
        output.get(JAVA_LONG_UNALIGNED, offset + 8),
        Short.toUnsignedInt(output.get(JAVA_SHORT_UNALIGNED, offset + 6)));
  }

  /** {@return the {@code hv_x64_segment_register} at {@code offset} of {@code memory}} */
  public static Segment decodeSegment(MemorySegment memory, long offset) {
    long base = memory.get(JAVA_LONG_UNALIGNED, offset);
    long limit = Integer.toUnsignedLong(memory.get(JAVA_INT_UNALIGNED, offset + 8));
    int selector = Short.toUnsignedInt(memory.get(JAVA_SHORT_UNALIGNED, offset + 12));
    int attributes = Short.toUnsignedInt(memory.get(JAVA_SHORT_UNALIGNED, offset + 14));
    boolean present = (attributes & HV_SEGMENT_PRESENT) != 0;
    return new Segment(
        base,
        limit,
        selector,
        attributes & 0xF,
        present,
        (attributes >> HV_SEGMENT_DPL_SHIFT) & 3,
        (attributes & HV_SEGMENT_DEFAULT) != 0,
        (attributes & HV_SEGMENT_NON_SYSTEM) == 0,
        (attributes & HV_SEGMENT_LONG) != 0,
        (attributes & HV_SEGMENT_GRANULARITY) != 0,
        !present);
  }

  /** {@return the attribute word of {@code segment}; an unusable segment is not present} */
  public static int attributes(Segment segment) {
    int attributes = segment.type() & 0xF;
    attributes |= segment.system() ? 0 : HV_SEGMENT_NON_SYSTEM;
    attributes |= segment.dpl() << HV_SEGMENT_DPL_SHIFT;
    attributes |= segment.present() && !segment.unusable() ? HV_SEGMENT_PRESENT : 0;
    attributes |= segment.longMode() ? HV_SEGMENT_LONG : 0;
    attributes |= segment.defaultSize() ? HV_SEGMENT_DEFAULT : 0;
    attributes |= segment.granularity() ? HV_SEGMENT_GRANULARITY : 0;
    return attributes;
  }

  private static void putSegment(MemorySegment value, Segment segment) {
    value.set(JAVA_LONG_UNALIGNED, 0, segment.base());
    value.set(JAVA_INT_UNALIGNED, 8, (int) segment.limit());
    value.set(JAVA_SHORT_UNALIGNED, 12, (short) segment.selector());
    value.set(JAVA_SHORT_UNALIGNED, 14, (short) attributes(segment));
  }

  private static void putTable(MemorySegment value, DescriptorTable table) {
    value.set(JAVA_SHORT_UNALIGNED, 6, (short) table.limit());
    value.set(JAVA_LONG_UNALIGNED, 8, table.base());
  }

  /** {@return the name of an HV_STATUS value} */
  public static String statusName(int status) {
    return switch (status) {
      case HV_STATUS_SUCCESS -> "HV_STATUS_SUCCESS";
      case HV_STATUS_INVALID_HYPERCALL_CODE -> "HV_STATUS_INVALID_HYPERCALL_CODE";
      case HV_STATUS_INVALID_HYPERCALL_INPUT -> "HV_STATUS_INVALID_HYPERCALL_INPUT";
      case HV_STATUS_INVALID_ALIGNMENT -> "HV_STATUS_INVALID_ALIGNMENT";
      case HV_STATUS_INVALID_PARAMETER -> "HV_STATUS_INVALID_PARAMETER";
      case HV_STATUS_ACCESS_DENIED -> "HV_STATUS_ACCESS_DENIED";
      case HV_STATUS_INVALID_PARTITION_STATE -> "HV_STATUS_INVALID_PARTITION_STATE";
      case HV_STATUS_OPERATION_DENIED -> "HV_STATUS_OPERATION_DENIED";
      case HV_STATUS_INSUFFICIENT_MEMORY -> "HV_STATUS_INSUFFICIENT_MEMORY";
      case HV_STATUS_INVALID_PARTITION_ID -> "HV_STATUS_INVALID_PARTITION_ID";
      case HV_STATUS_INVALID_VP_INDEX -> "HV_STATUS_INVALID_VP_INDEX";
      case HV_STATUS_INVALID_VP_STATE -> "HV_STATUS_INVALID_VP_STATE";
      case HV_STATUS_INVALID_REGISTER_VALUE -> "HV_STATUS_INVALID_REGISTER_VALUE";
      default -> "HV_STATUS 0x" + Integer.toHexString(status);
    };
  }
}
