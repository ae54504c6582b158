package dev.glint.hv.emulated.internal.cpu;

import static dev.glint.hv.emulated.internal.cpu.Cpu.mask;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.x86.decoder.CpuMode;

/**
 * Privileged and system instructions: HLT, port I/O with the IOPL and TSS I/O-permission checks,
 * control registers, descriptor tables, the task register, MSRs, CPUID, time stamps, and the
 * interrupt flag. Each checks the privilege level first: {@code #GP(0)} at CPL 3.
 */
final class SystemOps {
  static final long MSR_EFER = 0xC000_0080L;

  private SystemOps() {}

  static void requireCpl0(Cpu c) {
    if (c.cpl != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
  }

  /** Checks that the guest may use {@code size} ports from {@code port}: IOPL, then the bitmap. */
  static void checkIo(Cpu c, int port, int size) {
    if ((c.cr0 & 1) == 0 || c.cpl <= c.iopl()) {
      return;
    }
    Segment tr = c.tr;
    if (tr.unusable() || tr.limit() < 103) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    long mapBase = c.mmu.readSupervisor(tr.base() + 102, 2);
    long byteOffset = mapBase + (port >>> 3);
    if (byteOffset + 1 > tr.limit()) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    long bits = c.mmu.readSupervisor(tr.base() + byteOffset, 2);
    long wanted = ((1L << size) - 1) << (port & 7);
    if ((bits & wanted) != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
  }

  static void in(Cpu c, Op op, Executor ex) {
    int port = (int) (op.kind[1] == Op.IMM ? op.imm & 0xFF : c.r[2] & 0xFFFF);
    int size = op.size[0];
    checkIo(c, port, size);
    c.setGpr(0, size, ex.portIn(port, size));
  }

  static void out(Cpu c, Op op, Executor ex) {
    int port = (int) (op.kind[0] == Op.IMM ? op.imm & 0xFF : c.r[2] & 0xFFFF);
    int size = op.size[1];
    checkIo(c, port, size);
    ex.portOut(port, size, c.r[0] & mask(size));
  }

  static void hlt(Cpu c, Executor ex) {
    requireCpl0(c);
    ex.halt();
  }

  static void cli(Cpu c, boolean set) {
    if ((c.cr0 & 1) != 0 && c.cpl > c.iopl()) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    c.flags = set ? c.flags | Cpu.IF : c.flags & ~Cpu.IF;
  }

  static void moveControlRegister(Cpu c, Op op) {
    requireCpl0(c);
    if (op.kind[0] == Op.CR) {
      long value = c.r[op.reg[1]] & mask(op.size[1]);
      switch (op.reg[0]) {
        case 0 -> {
          if ((value & 0x8000_0001L) == 0x8000_0000L || (value >>> 32) != 0) {
            throw c.fault.of(GuestFault.GP, 0);
          }
          c.cr0 = value | 0x10;
          boolean pg = (value & (1L << 31)) != 0;
          boolean lme = (c.efer & (1L << 8)) != 0;
          c.efer = pg && lme ? c.efer | (1L << 10) : c.efer & ~(1L << 10);
        }
        case 2 -> c.cr2 = value;
        case 3 -> c.cr3 = value;
        case 4 -> c.cr4 = value;
        default -> c.cr8 = value & 0xF;
      }
      c.modeChanged();
      if (!c.mmu.configure(c.cr0, c.cr3, c.cr4, c.efer)) {
        throw new dev.glint.hv.emulated.internal.fault.InternalFailure(
            "paging outside long mode (CR0 0x%x, CR4 0x%x, EFER 0x%x) is not implemented"
                .formatted(c.cr0, c.cr4, c.efer));
      }
      if (op.reg[0] == 3) {
        c.mmu.flush();
      }
      return;
    }
    long value =
        switch (op.reg[1]) {
          case 0 -> c.cr0;
          case 2 -> c.cr2;
          case 3 -> c.cr3;
          case 4 -> c.cr4;
          default -> c.cr8;
        };
    c.setGpr(op.reg[0], op.size[0], value);
  }

  static void descriptorTable(Cpu c, Op op) {
    long addr = c.address(op);
    boolean wide = c.mode == CpuMode.LONG_64;
    switch (op.mnemonic) {
      case LGDT, LIDT -> {
        requireCpl0(c);
        int limit = (int) c.mmu.read(addr, 2);
        long base = c.mmu.read(addr + 2, wide ? 8 : 4);
        if (op.operandSize == 2 && !wide) {
          base &= 0xFF_FFFFL;
        }
        DescriptorTable table = new DescriptorTable(base, limit);
        if (op.mnemonic == dev.glint.x86.decoder.Mnemonic.LGDT) {
          c.gdt = table;
        } else {
          c.idt = table;
        }
      }
      default -> { // SGDT, SIDT
        DescriptorTable table = op.mnemonic == dev.glint.x86.decoder.Mnemonic.SGDT ? c.gdt : c.idt;
        c.mmu.checkWritable(addr, wide ? 10 : 6);
        c.mmu.write(addr, 2, table.limit());
        c.mmu.write(addr + 2, wide ? 8 : 4, table.base());
      }
    }
  }

  static void taskRegister(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    switch (op.mnemonic) {
      case STR -> c.write(op, 0, addr, c.tr.selector());
      case LTR -> {
        requireCpl0(c);
        int selector = (int) c.read(op, 0, addr);
        Segment d = Segments.descriptor(c, selector);
        if (!d.system() || (d.type() != 0x9)) {
          throw c.fault.of(GuestFault.GP, selector & ~3);
        }
        long base = d.base();
        if (c.mode == CpuMode.LONG_64) {
          long high = c.mmu.readSupervisor(c.gdt.base() + (selector & ~7) + 8, 8);
          base |= (high & 0xFFFF_FFFFL) << 32;
        }
        c.tr =
            new Segment(
                base,
                d.limit(),
                selector,
                0xB,
                true,
                d.dpl(),
                false,
                true,
                false,
                d.granularity(),
                false);
      }
      default -> { // LLDT: only the null LDT
        requireCpl0(c);
        int selector = (int) c.read(op, 0, addr);
        if ((selector & ~3) != 0) {
          throw c.fault.of(GuestFault.GP, selector & ~3);
        }
        c.ldt = Segment.unusableNull();
      }
    }
  }

  static void rdmsr(Cpu c) {
    requireCpl0(c);
    long value =
        switch ((int) c.r[1]) {
          case 0x10 -> System.nanoTime();
          case 0x1B -> c.apicBase;
          case 0x277 -> c.pat;
          case 0xC000_0080 -> c.efer;
          case 0xC000_0081 -> c.star;
          case 0xC000_0082 -> c.lstar;
          case 0xC000_0083 -> c.cstar;
          case 0xC000_0084 -> c.sfmask;
          case 0xC000_0100 -> c.seg[Cpu.FS].base();
          case 0xC000_0101 -> c.seg[Cpu.GS].base();
          case 0xC000_0102 -> c.kernelGsBase;
          case 0xC000_0103 -> c.tscAux;
          default -> throw c.fault.of(GuestFault.GP, 0);
        };
    c.setGpr(0, 4, value);
    c.setGpr(2, 4, value >>> 32);
  }

  static void wrmsr(Cpu c) {
    requireCpl0(c);
    long value = (c.r[0] & 0xFFFF_FFFFL) | (c.r[2] << 32);
    switch ((int) c.r[1]) {
      case 0x1B -> c.apicBase = value;
      case 0x277 -> c.pat = value;
      case 0xC000_0080 -> {
        if ((value & ~0xD01L) != 0) {
          throw c.fault.of(GuestFault.GP, 0);
        }
        c.efer = (value & ~(1L << 10)) | (c.efer & (1L << 10));
        c.modeChanged();
        c.mmu.configure(c.cr0, c.cr3, c.cr4, c.efer);
      }
      case 0xC000_0081 -> c.star = value;
      case 0xC000_0082 -> c.lstar = value;
      case 0xC000_0083 -> c.cstar = value;
      case 0xC000_0084 -> c.sfmask = value & 0xFFFF_FFFFL;
      case 0xC000_0100 -> setBase(c, Cpu.FS, value);
      case 0xC000_0101 -> setBase(c, Cpu.GS, value);
      case 0xC000_0102 -> c.kernelGsBase = value;
      case 0xC000_0103 -> c.tscAux = value & 0xFFFF_FFFFL;
      default -> throw c.fault.of(GuestFault.GP, 0);
    }
  }

  private static void setBase(Cpu c, int index, long base) {
    Segment s = c.seg[index];
    c.setSegment(
        index,
        new Segment(
            base,
            s.limit(),
            s.selector(),
            s.type(),
            s.present(),
            s.dpl(),
            s.defaultSize(),
            s.system(),
            s.longMode(),
            s.granularity(),
            s.unusable()));
  }

  static void swapgs(Cpu c) {
    requireCpl0(c);
    long gs = c.seg[Cpu.GS].base();
    setBase(c, Cpu.GS, c.kernelGsBase);
    c.kernelGsBase = gs;
  }

  static void cpuid(Cpu c) {
    int leaf = (int) c.r[0];
    int sub = (int) c.r[1];
    int[] v = Cpuid.leaf(leaf, sub);
    c.setGpr(0, 4, v[0]);
    c.setGpr(3, 4, v[1]);
    c.setGpr(1, 4, v[2]);
    c.setGpr(2, 4, v[3]);
  }

  static void rdtsc(Cpu c, boolean withAux) {
    if ((c.cr4 & 4) != 0 && c.cpl != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    long tsc = System.nanoTime();
    c.setGpr(0, 4, tsc);
    c.setGpr(2, 4, tsc >>> 32);
    if (withAux) {
      c.setGpr(1, 4, c.tscAux);
    }
  }

  static void xgetbv(Cpu c) {
    if ((c.cr4 & (1L << 18)) == 0 || (int) c.r[1] != 0) {
      throw c.fault.of(GuestFault.UD);
    }
    c.setGpr(0, 4, 3);
    c.setGpr(2, 4, 0);
  }
}
