package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.Segment;
import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.hv.emulated.internal.fault.InternalFailure;
import dev.glint.x86.decoder.CpuMode;

/**
 * Delivers exceptions and software interrupts: through the real-mode interrupt vector table, or the
 * long-mode IDT (16-byte gates, privilege check for {@code int n}, the stack switch through TSS
 * RSP0 or an IST slot, the frame with the error code). A fault while delivering follows the
 * architecture's table: a double fault for two contributory faults or a page fault followed by a
 * page fault or contributory fault, serial delivery otherwise, and a triple fault (shutdown) when
 * the double fault itself cannot be delivered.
 */
final class InterruptDelivery {
  private final Cpu c;
  private boolean shutdown;

  InterruptDelivery(Cpu cpu) {
    this.c = cpu;
  }

  /** {@return whether a triple fault happened since the last call, and clears it} */
  boolean takeShutdown() {
    boolean s = shutdown;
    shutdown = false;
    return s;
  }

  /** Delivers the fault {@code f} (RIP is the faulting instruction's). */
  void deliverFault(GuestFault f) {
    if (f.vector() == GuestFault.PF) {
      c.cr2 = f.faultAddress();
    }
    deliver(f.vector(), f.hasErrorCode(), f.errorCode(), false);
  }

  /**
   * Delivers {@code vector}; RIP is the return address.
   *
   * @param software whether it is {@code int n} (checked against the gate's DPL)
   */
  void deliver(int vector, boolean hasError, int error, boolean software) {
    int v = vector;
    boolean soft = software;
    for (int attempt = 0; attempt < 4; attempt++) {
      try {
        deliverOnce(v, hasError, error, soft);
        return;
      } catch (GuestFault nested) {
        int second = nested.vector();
        if (second == GuestFault.PF) {
          c.cr2 = nested.faultAddress();
        }
        if (v == GuestFault.DF) {
          shutdown = true;
          return;
        }
        if (doubleFault(v, second)) {
          v = GuestFault.DF;
          hasError = true;
          error = 0;
        } else {
          v = second;
          hasError = nested.hasErrorCode();
          error = nested.errorCode();
        }
        soft = false;
      }
    }
    shutdown = true;
  }

  private static boolean contributory(int v) {
    return v == GuestFault.DE || (v >= GuestFault.TS && v <= GuestFault.GP);
  }

  private static boolean doubleFault(int first, int second) {
    return contributory(first) && contributory(second)
        || first == GuestFault.PF && (second == GuestFault.PF || contributory(second));
  }

  private void deliverOnce(int v, boolean hasError, int error, boolean soft) {
    int ext = soft ? 0 : 1;
    if (c.mode != CpuMode.LONG_64) {
      if ((c.cr0 & 1) == 0) {
        deliverReal(v, ext);
        return;
      }
      throw new InternalFailure(
          "exception %d in 32-bit protected mode: not implemented by the emulated backend"
              .formatted(v));
    }
    if (v * 16L + 15 > c.idt.limit()) {
      throw c.fault.of(GuestFault.GP, v * 8 + 2 + ext);
    }
    long gate = c.idt.base() + v * 16L;
    long low = c.mmu.readSupervisor(gate, 8);
    long high = c.mmu.readSupervisor(gate + 8, 8);
    int type = (int) (low >>> 40) & 0xF;
    int dpl = (int) (low >>> 45) & 3;
    boolean present = ((low >>> 47) & 1) != 0;
    if (type != 0xE && type != 0xF) {
      throw c.fault.of(GuestFault.GP, v * 8 + 2 + ext);
    }
    if (soft && dpl < c.cpl) {
      throw c.fault.of(GuestFault.GP, v * 8 + 2);
    }
    if (!present) {
      throw c.fault.of(GuestFault.NP, v * 8 + 2 + ext);
    }
    int selector = (int) (low >>> 16) & 0xFFFF;
    long offset = (low & 0xFFFF) | ((low >>> 32) & 0xFFFF_0000L) | (high << 32);
    int ist = (int) (low >>> 32) & 7;
    Segment code = Segments.codeDescriptor(c, selector);
    if (!code.longMode()) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    int newCpl = code.dpl();
    if (newCpl > c.cpl) {
      throw c.fault.of(GuestFault.GP, selector & ~3);
    }
    boolean switchStack = newCpl < c.cpl;
    long rsp;
    if (ist != 0) {
      rsp = c.mmu.readSupervisor(c.tr.base() + 36 + (ist - 1) * 8L, 8);
    } else if (switchStack) {
      rsp = c.mmu.readSupervisor(c.tr.base() + 4 + newCpl * 8L, 8);
    } else {
      rsp = c.r[4];
    }
    rsp &= ~0xFL;
    long[] frame = {c.seg[Cpu.SS].selector(), c.r[4], c.flags, c.seg[Cpu.CS].selector(), c.rip};
    for (long value : frame) {
      rsp -= 8;
      c.mmu.writeSupervisor(rsp, 8, value);
    }
    if (hasError) {
      rsp -= 8;
      c.mmu.writeSupervisor(rsp, 8, error & 0xFFFF_FFFFL);
    }
    if (switchStack) {
      c.setSegment(
          Cpu.SS, new Segment(0, 0, newCpl, 0, false, 0, false, false, false, false, true));
    }
    c.setSegment(
        Cpu.CS,
        new Segment(
            code.base(),
            code.limit(),
            (selector & ~3) | newCpl,
            code.type(),
            true,
            code.dpl(),
            code.defaultSize(),
            code.system(),
            code.longMode(),
            code.granularity(),
            false));
    c.r[4] = rsp;
    c.flags &= ~(Cpu.TF | Cpu.NT | Cpu.RF | (1L << 17));
    if (type == 0xE) {
      c.flags &= ~Cpu.IF;
    }
    c.rip = offset;
  }

  private void deliverReal(int v, int ext) {
    if (v * 4L + 3 > c.idt.limit()) {
      throw c.fault.of(GuestFault.GP, v * 8 + 2 + ext);
    }
    long entry = c.mmu.readSupervisor(c.idt.base() + v * 4L, 4);
    c.push(c.flags & 0xFFFF, 2);
    c.push(c.seg[Cpu.CS].selector(), 2);
    c.push(c.rip & 0xFFFF, 2);
    c.flags &= ~(Cpu.IF | Cpu.TF | Cpu.AC);
    c.setSegment(Cpu.CS, Segment.realMode((int) (entry >>> 16) & 0xFFFF, 0xB));
    c.rip = entry & 0xFFFF;
  }
}
