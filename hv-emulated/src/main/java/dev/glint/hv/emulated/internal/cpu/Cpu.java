package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.hv.emulated.internal.mmu.Mmu;
import dev.glint.x86.decoder.CpuMode;

/**
 * The architectural state of the emulated x86-64 processor: general registers, RIP, RFLAGS,
 * segments, descriptor tables, control registers, MSRs and the SSE registers, plus the operand
 * access every instruction family shares. Confined to the vCPU's thread.
 */
public final class Cpu {
  static final int ES = 0;
  static final int CS = 1;
  static final int SS = 2;
  static final int DS = 3;
  static final int FS = 4;
  static final int GS = 5;

  /** General registers in x86 encoding order. */
  public final long[] r = new long[16];

  /** The address of the next instruction (after an instruction starts: the one after it). */
  public long rip;

  /** RFLAGS, eagerly computed. */
  public long flags = 2;

  /** ES, CS, SS, DS, FS, GS as the host set them or the guest loaded them. */
  public final Segment[] seg = new Segment[6];

  /** The bases used for addressing (zero for ES, CS, SS and DS in 64-bit mode). */
  final long[] base = new long[6];

  public Segment tr = Segment.unusableNull();
  public Segment ldt = Segment.unusableNull();
  public DescriptorTable gdt = new DescriptorTable(0, 0xFFFF);
  public DescriptorTable idt = new DescriptorTable(0, 0x3FF);
  public long cr0 = 0x10;
  public long cr2;
  public long cr3;
  public long cr4;
  public long cr8;
  public long efer;
  public long apicBase = 0xFEE0_0900L;
  long star;
  long lstar;
  long cstar;
  long sfmask;
  long kernelGsBase;
  long tscAux;
  long pat = 0x0007_0406_0007_0406L;

  /** XMM0..15, two longs each (low, high). */
  public final long[] xmm = new long[32];

  public int mxcsr = 0x1F80;

  /** The x87 state, kept for FXSAVE/FXRSTOR and the host (no x87 instruction is emulated). */
  public byte[] x87 = new byte[128];

  public int fcw = 0x37F;
  public int fsw;
  public int ftw;
  public int fop;
  public long fip;
  public long fdp;

  /** The current privilege level. */
  public int cpl;

  /** The mode instructions are decoded in. */
  public CpuMode mode = CpuMode.REAL_16;

  final Mmu mmu;
  final GuestFault fault;

  Cpu(Mmu mmu, GuestFault fault) {
    this.mmu = mmu;
    this.fault = fault;
    for (int i = 0; i < 6; i++) {
      seg[i] = Segment.realMode(0, i == CS ? 0xB : 0x3);
    }
    seg[CS] =
        new Segment(0xFFFF_0000L, 0xFFFF, 0xF000, 0xB, true, 0, false, false, false, false, false);
  }

  /** Recomputes the mode, CPL and segment bases after a change of CS, CR0 or EFER. */
  public void modeChanged() {
    boolean lma = (efer & (1L << 10)) != 0;
    Segment cs = seg[CS];
    if ((cr0 & 1) == 0) {
      mode = CpuMode.REAL_16;
      cpl = 0;
    } else {
      cpl = cs.dpl();
      if (lma && cs.longMode()) {
        mode = CpuMode.LONG_64;
      } else {
        mode = cs.defaultSize() ? CpuMode.PROTECTED_32 : CpuMode.REAL_16;
      }
    }
    for (int i = 0; i < 6; i++) {
      base[i] = mode == CpuMode.LONG_64 && i < FS ? 0 : seg[i].base();
    }
    mmu.setCpl(cpl);
  }

  /** Loads segment {@code index} with {@code value} and recomputes what depends on it. */
  void setSegment(int index, Segment value) {
    seg[index] = value;
    if (index == CS) {
      modeChanged();
    } else {
      base[index] = mode == CpuMode.LONG_64 && index < FS ? 0 : value.base();
    }
  }

  // ---- Registers by size. ----

  static long mask(int size) {
    return size >= 8 ? -1L : (1L << (size << 3)) - 1;
  }

  static long signExtend(long value, int size) {
    int shift = 64 - (size << 3);
    return (value << shift) >> shift;
  }

  long gpr(int index, int size) {
    return r[index] & mask(size);
  }

  void setGpr(int index, int size, long value) {
    switch (size) {
      case 1 -> r[index] = (r[index] & ~0xFFL) | (value & 0xFF);
      case 2 -> r[index] = (r[index] & ~0xFFFFL) | (value & 0xFFFF);
      case 4 -> r[index] = value & 0xFFFF_FFFFL;
      default -> r[index] = value;
    }
  }

  // ---- Operands. ----

  /** {@return the linear address of {@code op}'s memory operand} */
  long address(Op op) {
    long a = op.disp;
    if (op.baseReg >= 0) {
      a += r[op.baseReg];
    }
    if (op.indexReg >= 0) {
      a += r[op.indexReg] << op.scaleShift;
    }
    if (op.ripRelative) {
      a += rip;
    }
    if (op.addrSize != 8) {
      a &= op.addrSize == 4 ? 0xFFFF_FFFFL : 0xFFFF;
    }
    a += base[op.segment];
    return mode == CpuMode.LONG_64 ? a : a & 0xFFFF_FFFFL;
  }

  /**
   * {@return a linear address: {@code offset} in {@code segment}, truncated to the address size}
   */
  long linear(int segment, long offset, int addrSize) {
    if (addrSize != 8) {
      offset &= addrSize == 4 ? 0xFFFF_FFFFL : 0xFFFF;
    }
    long a = base[segment] + offset;
    return mode == CpuMode.LONG_64 ? a : a & 0xFFFF_FFFFL;
  }

  /** Reads operand {@code i} of {@code op} ({@code addr}: its address when it is in memory). */
  long read(Op op, int i, long addr) {
    int size = op.size[i];
    return switch (op.kind[i]) {
      case Op.GPR -> r[op.reg[i]] & mask(size);
      case Op.HIGH -> (r[op.reg[i]] >>> 8) & 0xFF;
      case Op.MEM -> mmu.read(addr, size);
      case Op.IMM -> op.imm & mask(size);
      case Op.SEG -> seg[op.reg[i]].selector();
      default -> throw fault.of(GuestFault.UD);
    };
  }

  /** Writes operand {@code i} of {@code op}. */
  void write(Op op, int i, long addr, long value) {
    int size = op.size[i];
    switch (op.kind[i]) {
      case Op.GPR -> setGpr(op.reg[i], size, value);
      case Op.HIGH -> r[op.reg[i]] = (r[op.reg[i]] & ~0xFF00L) | ((value & 0xFF) << 8);
      case Op.MEM -> mmu.write(addr, size, value);
      default -> throw fault.of(GuestFault.UD);
    }
  }

  /** {@return the address of {@code op}'s memory operand, or 0 if it has none} */
  long addressIfMemory(Op op) {
    return op.hasMemory ? address(op) : 0;
  }

  // ---- Stack. ----

  int stackAddressSize() {
    if (mode == CpuMode.LONG_64) {
      return 8;
    }
    return seg[SS].defaultSize() ? 4 : 2;
  }

  void push(long value, int size) {
    int as = stackAddressSize();
    long sp = (r[4] - size) & mask(as);
    mmu.write(linear(SS, sp, as), size, value);
    setGpr(4, as, sp);
  }

  long pop(int size) {
    int as = stackAddressSize();
    long sp = r[4] & mask(as);
    long value = mmu.read(linear(SS, sp, as), size);
    setGpr(4, as, sp + size);
    return value;
  }

  /** Reads the stack {@code offset} bytes above the top without popping. */
  long peek(long offset, int size) {
    int as = stackAddressSize();
    return mmu.read(linear(SS, (r[4] + offset) & mask(as), as), size);
  }

  // ---- Flags. ----

  static final long CF = 1;
  static final long PF = 1 << 2;
  static final long AF = 1 << 4;
  static final long ZF = 1 << 6;
  static final long SF = 1 << 7;
  static final long TF = 1 << 8;
  static final long IF = 1 << 9;
  static final long DF = 1 << 10;
  static final long OF = 1 << 11;
  static final long IOPL = 3 << 12;
  static final long NT = 1 << 14;
  static final long RF = 1 << 16;
  static final long AC = 1 << 18;
  static final long ID = 1 << 21;
  static final long ARITH = CF | PF | AF | ZF | SF | OF;

  int iopl() {
    return (int) (flags >>> 12) & 3;
  }

  boolean condition(int cc) {
    long f = flags;
    boolean result =
        switch (cc >>> 1) {
          case 0 -> (f & OF) != 0;
          case 1 -> (f & CF) != 0;
          case 2 -> (f & ZF) != 0;
          case 3 -> (f & (CF | ZF)) != 0;
          case 4 -> (f & SF) != 0;
          case 5 -> (f & PF) != 0;
          case 6 -> ((f & SF) != 0) != ((f & OF) != 0);
          default -> (f & ZF) != 0 || ((f & SF) != 0) != ((f & OF) != 0);
        };
    return result != ((cc & 1) != 0);
  }

  /** Sets ZF, SF and PF from {@code result} and the other arithmetic flags from {@code cfOfAf}. */
  void setFlags(long result, int size, long cfOfAf) {
    long f = flags & ~ARITH;
    long m = result & mask(size);
    if (m == 0) {
      f |= ZF;
    }
    if ((m >>> ((size << 3) - 1)) != 0) {
      f |= SF;
    }
    if ((Integer.bitCount((int) m & 0xFF) & 1) == 0) {
      f |= PF;
    }
    flags = f | cfOfAf;
  }
}
