package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct kvm_sregs}, {@code struct kvm_segment} and {@code struct kvm_dtable} of {@code
 * /usr/include/asm/kvm.h} (x86, linux-libc-dev 6.1), with {@code KVM_GET_SREGS}/{@code
 * KVM_SET_SREGS}, and their conversion to the neutral {@link SpecialRegisters}.
 *
 * <p>Conversion notes: {@code kvm_segment.s} is 1 for code and data segments, so {@link
 * Segment#system()} is its negation; {@code avl} is not carried (KVM ignores it); {@code
 * interrupt_bitmap} is not part of the neutral value and is left as it is in the buffer (zero in a
 * fresh one), since without an in-kernel irqchip a set bit would queue an interrupt.
 */
public final class KvmSregs {
  /** {@code struct kvm_segment}, 24 bytes. */
  public static final StructLayout SEGMENT =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("base"),
          JAVA_INT.withName("limit"),
          JAVA_SHORT.withName("selector"),
          JAVA_BYTE.withName("type"),
          JAVA_BYTE.withName("present"),
          JAVA_BYTE.withName("dpl"),
          JAVA_BYTE.withName("db"),
          JAVA_BYTE.withName("s"),
          JAVA_BYTE.withName("l"),
          JAVA_BYTE.withName("g"),
          JAVA_BYTE.withName("avl"),
          JAVA_BYTE.withName("unusable"),
          JAVA_BYTE.withName("padding"));

  /** {@code struct kvm_dtable}, 16 bytes. */
  public static final StructLayout DTABLE =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("base"),
          JAVA_SHORT.withName("limit"),
          MemoryLayout.sequenceLayout(3, JAVA_SHORT).withName("padding"));

  /** {@code struct kvm_sregs}, 312 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          SEGMENT.withName("cs"),
          SEGMENT.withName("ds"),
          SEGMENT.withName("es"),
          SEGMENT.withName("fs"),
          SEGMENT.withName("gs"),
          SEGMENT.withName("ss"),
          SEGMENT.withName("tr"),
          SEGMENT.withName("ldt"),
          DTABLE.withName("gdt"),
          DTABLE.withName("idt"),
          JAVA_LONG.withName("cr0"),
          JAVA_LONG.withName("cr2"),
          JAVA_LONG.withName("cr3"),
          JAVA_LONG.withName("cr4"),
          JAVA_LONG.withName("cr8"),
          JAVA_LONG.withName("efer"),
          JAVA_LONG.withName("apic_base"),
          // (KVM_NR_INTERRUPTS + 63) / 64 = 4
          MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

  public static final long KVM_GET_SREGS = Ioctl.ior(Ioctl.KVMIO, 0x83, LAYOUT.byteSize());
  public static final long KVM_SET_SREGS = Ioctl.iow(Ioctl.KVMIO, 0x84, LAYOUT.byteSize());

  private static final String[] SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};

  // Offsets resolved once: resolving a layout path on every access costs about a microsecond.
  private static final long[] SEGMENT_OFFSETS =
      java.util.Arrays.stream(SEGMENTS).mapToLong(KvmSregs::offset).toArray();
  private static final long GDT = offset("gdt");
  private static final long IDT = offset("idt");

  // Segment fields, coordinates (segment, offset of the kvm_segment).
  private static final VarHandle SEG_BASE = field(SEGMENT, "base");
  private static final VarHandle SEG_LIMIT = field(SEGMENT, "limit");
  private static final VarHandle SEG_SELECTOR = field(SEGMENT, "selector");
  private static final VarHandle SEG_TYPE = field(SEGMENT, "type");
  private static final VarHandle SEG_PRESENT = field(SEGMENT, "present");
  private static final VarHandle SEG_DPL = field(SEGMENT, "dpl");
  private static final VarHandle SEG_DB = field(SEGMENT, "db");
  private static final VarHandle SEG_S = field(SEGMENT, "s");
  private static final VarHandle SEG_L = field(SEGMENT, "l");
  private static final VarHandle SEG_G = field(SEGMENT, "g");
  private static final VarHandle SEG_AVL = field(SEGMENT, "avl");
  private static final VarHandle SEG_UNUSABLE = field(SEGMENT, "unusable");
  private static final VarHandle DT_BASE = field(DTABLE, "base");
  private static final VarHandle DT_LIMIT = field(DTABLE, "limit");
  private static final VarHandle CR0 = field(LAYOUT, "cr0");
  private static final VarHandle CR2 = field(LAYOUT, "cr2");
  private static final VarHandle CR3 = field(LAYOUT, "cr3");
  private static final VarHandle CR4 = field(LAYOUT, "cr4");
  private static final VarHandle CR8 = field(LAYOUT, "cr8");
  private static final VarHandle EFER = field(LAYOUT, "efer");
  private static final VarHandle APIC_BASE = field(LAYOUT, "apic_base");

  private KvmSregs() {}

  /**
   * {@return a zeroed buffer for {@code KVM_GET/SET_SREGS}, also large enough for a {@code
   * kvm_regs}; freed by the garbage collector once unreachable}
   */
  public static MemorySegment allocateBuffer() {
    return Arena.ofAuto().allocate(LAYOUT);
  }

  private static VarHandle field(StructLayout layout, String name) {
    return layout.varHandle(groupElement(name));
  }

  private static long offset(String member) {
    return LAYOUT.byteOffset(groupElement(member));
  }

  /** {@return the special registers stored at {@code base} in {@code buffer}} */
  public static SpecialRegisters read(MemorySegment buffer, long base) {
    Segment[] segments = new Segment[SEGMENTS.length];
    for (int i = 0; i < SEGMENTS.length; i++) {
      segments[i] = readSegment(buffer, base + SEGMENT_OFFSETS[i]);
    }
    return new SpecialRegisters(
        segments[0],
        segments[1],
        segments[2],
        segments[3],
        segments[4],
        segments[5],
        segments[6],
        segments[7],
        readTable(buffer, base + GDT),
        readTable(buffer, base + IDT),
        (long) CR0.get(buffer, base),
        (long) CR2.get(buffer, base),
        (long) CR3.get(buffer, base),
        (long) CR4.get(buffer, base),
        (long) CR8.get(buffer, base),
        (long) EFER.get(buffer, base),
        (long) APIC_BASE.get(buffer, base));
  }

  /** Stores {@code sregs} at {@code base} in {@code buffer}, leaving {@code interrupt_bitmap}. */
  public static void write(MemorySegment buffer, long base, SpecialRegisters sregs) {
    Segment[] segments = {
      sregs.cs(),
      sregs.ds(),
      sregs.es(),
      sregs.fs(),
      sregs.gs(),
      sregs.ss(),
      sregs.tr(),
      sregs.ldt()
    };
    for (int i = 0; i < SEGMENTS.length; i++) {
      writeSegment(buffer, base + SEGMENT_OFFSETS[i], segments[i]);
    }
    writeTable(buffer, base + GDT, sregs.gdt());
    writeTable(buffer, base + IDT, sregs.idt());
    CR0.set(buffer, base, sregs.cr0());
    CR2.set(buffer, base, sregs.cr2());
    CR3.set(buffer, base, sregs.cr3());
    CR4.set(buffer, base, sregs.cr4());
    CR8.set(buffer, base, sregs.cr8());
    EFER.set(buffer, base, sregs.efer());
    APIC_BASE.set(buffer, base, sregs.apicBase());
  }

  private static boolean flag(VarHandle handle, MemorySegment buffer, long at) {
    return (byte) handle.get(buffer, at) != 0;
  }

  private static Segment readSegment(MemorySegment buffer, long at) {
    return new Segment(
        (long) SEG_BASE.get(buffer, at),
        Integer.toUnsignedLong((int) SEG_LIMIT.get(buffer, at)),
        Short.toUnsignedInt((short) SEG_SELECTOR.get(buffer, at)),
        (byte) SEG_TYPE.get(buffer, at) & 0xF,
        flag(SEG_PRESENT, buffer, at),
        (byte) SEG_DPL.get(buffer, at) & 3,
        flag(SEG_DB, buffer, at),
        !flag(SEG_S, buffer, at),
        flag(SEG_L, buffer, at),
        flag(SEG_G, buffer, at),
        flag(SEG_UNUSABLE, buffer, at));
  }

  private static void writeSegment(MemorySegment buffer, long at, Segment segment) {
    SEG_BASE.set(buffer, at, segment.base());
    SEG_LIMIT.set(buffer, at, (int) segment.limit());
    SEG_SELECTOR.set(buffer, at, (short) segment.selector());
    SEG_TYPE.set(buffer, at, (byte) segment.type());
    SEG_PRESENT.set(buffer, at, bit(segment.present()));
    SEG_DPL.set(buffer, at, (byte) segment.dpl());
    SEG_DB.set(buffer, at, bit(segment.defaultSize()));
    SEG_S.set(buffer, at, bit(!segment.system()));
    SEG_L.set(buffer, at, bit(segment.longMode()));
    SEG_G.set(buffer, at, bit(segment.granularity()));
    SEG_AVL.set(buffer, at, (byte) 0);
    SEG_UNUSABLE.set(buffer, at, bit(segment.unusable()));
  }

  private static byte bit(boolean value) {
    return value ? (byte) 1 : (byte) 0;
  }

  private static DescriptorTable readTable(MemorySegment buffer, long at) {
    return new DescriptorTable(
        (long) DT_BASE.get(buffer, at), Short.toUnsignedInt((short) DT_LIMIT.get(buffer, at)));
  }

  private static void writeTable(MemorySegment buffer, long at, DescriptorTable table) {
    DT_BASE.set(buffer, at, table.base());
    DT_LIMIT.set(buffer, at, (short) table.limit());
  }
}
