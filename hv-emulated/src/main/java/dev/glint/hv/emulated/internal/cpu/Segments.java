package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.Segment;
import dev.glint.hv.emulated.internal.fault.GuestFault;

/** Loading segment registers: real-mode selectors and GDT descriptors. */
final class Segments {
  private Segments() {}

  /** {@return the descriptor for {@code selector} from the GDT, as a segment register} */
  static Segment descriptor(Cpu c, int selector) {
    if ((selector & 4) != 0) {
      throw c.fault.of(GuestFault.GP, selector & ~3); // no LDT support
    }
    int index = selector & ~7;
    if (index + 7 > c.gdt.limit()) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    long d = c.mmu.readSupervisor(c.gdt.base() + index, 8);
    long base = ((d >>> 16) & 0xFF_FFFFL) | (((d >>> 56) & 0xFF) << 24);
    long limit = (d & 0xFFFF) | (((d >>> 48) & 0xF) << 16);
    boolean granularity = ((d >>> 55) & 1) != 0;
    if (granularity) {
      limit = (limit << 12) | 0xFFF;
    }
    int type = (int) (d >>> 40) & 0xF;
    boolean system = ((d >>> 44) & 1) == 0;
    int dpl = (int) (d >>> 45) & 3;
    boolean present = ((d >>> 47) & 1) != 0;
    boolean longMode = ((d >>> 53) & 1) != 0;
    boolean big = ((d >>> 54) & 1) != 0;
    if (!present) {
      throw c.fault.of(GuestFault.NP, selector & ~3);
    }
    return new Segment(
        base, limit, selector, type, true, dpl, big, system, longMode, granularity, false);
  }

  static Segment codeDescriptor(Cpu c, int selector) {
    if ((selector & ~3) == 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    Segment s = descriptor(c, selector);
    if (s.system() || (s.type() & 8) == 0) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    return s;
  }

  static Segment stackDescriptor(Cpu c, int selector, int cpl) {
    if ((selector & ~3) == 0) {
      if (c.mode == dev.glint.x86.decoder.CpuMode.LONG_64 && cpl < 3) {
        return new Segment(0, 0, selector, 0, false, 0, false, false, false, false, true);
      }
      throw c.fault.of(GuestFault.GP, 0);
    }
    Segment s = descriptor(c, selector);
    if (s.system() || (s.type() & 8) != 0 || (s.type() & 2) == 0 || s.dpl() != cpl) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    return s;
  }

  /** MOV/POP to a data or stack segment register. */
  static void loadData(Cpu c, int index, int selector) {
    if ((c.cr0 & 1) == 0) {
      c.setSegment(index, Segment.realMode(selector, 0x3));
      return;
    }
    if (index == Cpu.SS) {
      c.setSegment(index, stackDescriptor(c, selector, c.cpl));
      return;
    }
    if ((selector & ~3) == 0) {
      c.setSegment(
          index, new Segment(0, 0, selector, 0, false, 0, false, false, false, false, true));
      return;
    }
    Segment s = descriptor(c, selector);
    if (s.system() || ((s.type() & 8) != 0 && (s.type() & 2) == 0)) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    c.setSegment(index, s);
  }

  /** A far jump's new CS. */
  static void loadCode(Cpu c, int selector) {
    if ((c.cr0 & 1) == 0) {
      c.setSegment(Cpu.CS, Segment.realMode(selector, 0xB));
      return;
    }
    c.setSegment(Cpu.CS, codeDescriptor(c, selector));
  }
}
