package dev.glint.hv.emulated.internal.cpu;

import static dev.glint.hv.emulated.internal.cpu.Cpu.mask;

import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.Mnemonic;

/** Jumps, calls, returns, loops, software interrupts, IRET and SYSCALL. */
final class ControlFlowOps {
  private ControlFlowOps() {}

  /** {@return the branch target of {@code op}'s first operand} */
  private static long target(Cpu c, Op op) {
    if (op.kind[0] == Op.REL) {
      return (c.rip + op.imm) & mask(op.operandSize);
    }
    return c.read(op, 0, c.addressIfMemory(op));
  }

  static void jmp(Cpu c, Op op) {
    c.rip = target(c, op);
  }

  static void jcc(Cpu c, Op op) {
    if (c.condition(op.cond)) {
      c.rip = (c.rip + op.imm) & mask(op.operandSize);
    }
  }

  static void loop(Cpu c, Op op) {
    int as = op.addrSize;
    if (op.mnemonic == Mnemonic.JRCXZ) {
      if ((c.r[1] & mask(as)) == 0) {
        c.rip = (c.rip + op.imm) & mask(op.operandSize);
      }
      return;
    }
    long count = (c.r[1] - 1) & mask(as);
    c.setGpr(1, as, count);
    boolean zf = (c.flags & Cpu.ZF) != 0;
    boolean taken =
        count != 0
            && switch (op.mnemonic) {
              case LOOPE -> zf;
              case LOOPNE -> !zf;
              default -> true;
            };
    if (taken) {
      c.rip = (c.rip + op.imm) & mask(op.operandSize);
    }
  }

  static void call(Cpu c, Op op) {
    long to = target(c, op);
    c.push(c.rip, op.operandSize);
    c.rip = to;
  }

  static void ret(Cpu c, Op op) {
    long to = c.peek(0, op.operandSize);
    c.pop(op.operandSize);
    if (op.kind[0] == Op.IMM) {
      int as = c.stackAddressSize();
      c.setGpr(4, as, c.r[4] + (op.imm & 0xFFFF));
    }
    c.rip = to;
  }

  static void jmpFar(Cpu c, Op op) {
    Segments.loadCode(c, op.farSelector);
    c.rip = op.imm;
  }

  static void softwareInterrupt(Cpu c, Op op, InterruptDelivery delivery) {
    int vector = op.mnemonic == Mnemonic.INT3 ? GuestFault.BP : (int) op.imm & 0xFF;
    delivery.deliver(vector, false, 0, op.mnemonic == Mnemonic.INT);
  }

  static void iret(Cpu c, Op op) {
    int size = op.operandSize;
    if (c.mode != CpuMode.LONG_64) {
      if ((c.cr0 & 1) != 0) {
        throw new dev.glint.hv.emulated.internal.fault.InternalFailure(
            "iret in 32-bit protected mode is not implemented by the emulated backend");
      }
      long ip = c.peek(0, size);
      long cs = c.peek(size, size);
      long fl = c.peek(2L * size, size);
      c.pop(size);
      c.pop(size);
      c.pop(size);
      Segments.loadCode(c, (int) cs & 0xFFFF);
      c.rip = ip & mask(size);
      long changeable = size == 2 ? 0x7FD5L : 0x257FD5L;
      c.flags = (c.flags & ~changeable) | (fl & changeable) | 2;
      return;
    }
    long ip = c.peek(0, size);
    int cs = (int) c.peek(size, size) & 0xFFFF;
    long fl = c.peek(2L * size, size);
    long sp = c.peek(3L * size, size);
    int ss = (int) c.peek(4L * size, size) & 0xFFFF;
    int oldCpl = c.cpl;
    int newCpl = cs & 3;
    if (newCpl < oldCpl) {
      throw c.fault.of(GuestFault.GP, cs & ~3);
    }
    // Check both descriptors before changing anything.
    dev.glint.hv.Segment code = Segments.codeDescriptor(c, cs);
    dev.glint.hv.Segment stack = Segments.stackDescriptor(c, ss, newCpl);
    long changeable = Cpu.ARITH | Cpu.TF | Cpu.DF | Cpu.NT | Cpu.RF | Cpu.AC | Cpu.ID;
    if (oldCpl == 0) {
      changeable |= Cpu.IOPL | Cpu.IF;
    } else if (oldCpl <= c.iopl()) {
      changeable |= Cpu.IF;
    }
    if (size == 4) {
      changeable &= 0xFFFF_FFFFL;
    }
    c.flags = (c.flags & ~changeable) | (fl & changeable) | 2;
    c.setSegment(Cpu.CS, code);
    c.setSegment(Cpu.SS, stack);
    c.r[4] = sp & mask(size);
    c.rip = ip & mask(size);
  }

  static void syscall(Cpu c) {
    if ((c.efer & 1) == 0) {
      throw c.fault.of(GuestFault.UD);
    }
    c.r[1] = c.rip;
    c.r[11] = c.flags & ~Cpu.RF;
    int selector = (int) (c.star >>> 32) & 0xFFFC;
    c.setSegment(
        Cpu.CS,
        new dev.glint.hv.Segment(
            0, 0xFFFF_FFFFL, selector, 0xB, true, 0, false, false, true, true, false));
    c.setSegment(
        Cpu.SS,
        new dev.glint.hv.Segment(
            0, 0xFFFF_FFFFL, selector + 8, 0x3, true, 0, true, false, false, true, false));
    c.flags &= ~(c.sfmask | Cpu.RF);
    c.flags |= 2;
    c.rip = c.lstar;
  }
}
