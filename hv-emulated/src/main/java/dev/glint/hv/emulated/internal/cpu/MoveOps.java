package dev.glint.hv.emulated.internal.cpu;

import static dev.glint.hv.emulated.internal.cpu.Cpu.mask;

import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.Mnemonic;

/** Moves, exchanges, conditional moves, the stack, and flag transfers. */
final class MoveOps {
  private MoveOps() {}

  static void mov(Cpu c, Op op) {
    if (op.kind[0] == Op.CR || op.kind[1] == Op.CR) {
      SystemOps.moveControlRegister(c, op);
      return;
    }
    if (op.kind[0] == Op.SEG) {
      long selector = c.read(op, 1, c.addressIfMemory(op));
      Segments.loadData(c, op.reg[0], (int) selector);
      return;
    }
    long addr = c.addressIfMemory(op);
    long value = op.kind[1] == Op.IMM ? op.imm : c.read(op, 1, addr);
    c.write(op, 0, addr, value);
  }

  static void movExtend(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    long value = c.read(op, 1, addr);
    if (op.mnemonic != Mnemonic.MOVZX) {
      value = Cpu.signExtend(value, op.size[1]);
    }
    c.write(op, 0, 0, value);
  }

  static void lea(Cpu c, Op op) {
    long a = op.disp;
    if (op.baseReg >= 0) {
      a += c.r[op.baseReg];
    }
    if (op.indexReg >= 0) {
      a += c.r[op.indexReg] << op.scaleShift;
    }
    if (op.ripRelative) {
      a += c.rip;
    }
    c.write(op, 0, 0, a & mask(op.addrSize));
  }

  static void xchg(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    long a = c.read(op, 0, addr);
    long b = c.read(op, 1, addr);
    c.write(op, 0, addr, b);
    c.write(op, 1, addr, a);
  }

  static void cmov(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    long value = c.read(op, 1, addr); // read (and fault) whatever the condition
    c.write(op, 0, 0, c.condition(op.cond) ? value : c.read(op, 0, 0));
  }

  static void setcc(Cpu c, Op op) {
    c.write(op, 0, c.addressIfMemory(op), c.condition(op.cond) ? 1 : 0);
  }

  static void push(Cpu c, Op op) {
    int size = op.operandSize;
    long value =
        switch (op.kind[0]) {
          case Op.IMM -> op.imm;
          case Op.SEG -> c.seg[op.reg[0]].selector();
          default -> c.read(op, 0, c.addressIfMemory(op));
        };
    c.push(value, size);
  }

  static void pop(Cpu c, Op op) {
    int size = op.operandSize;
    long value = c.peek(0, size);
    if (op.kind[0] == Op.SEG) {
      Segments.loadData(c, op.reg[0], (int) value);
      c.pop(size);
      return;
    }
    if (op.kind[0] == Op.MEM) {
      // The address uses RSP after the pop.
      long saved = c.r[4];
      c.pop(size);
      long addr = c.address(op);
      c.r[4] = saved;
      c.mmu.write(addr, size, value);
      c.pop(size);
      return;
    }
    c.pop(size);
    c.write(op, 0, 0, value);
  }

  static void pushf(Cpu c, Op op) {
    if (c.mode == CpuMode.REAL_16 && (c.cr0 & 1) == 0
        || c.cpl <= c.iopl()
        || c.mode == CpuMode.LONG_64) {
      c.push(c.flags & ~(Cpu.RF | (1L << 17)), op.operandSize);
      return;
    }
    throw c.fault.of(GuestFault.GP, 0);
  }

  static void popf(Cpu c, Op op) {
    long value = c.pop(op.operandSize);
    long changeable = Cpu.ARITH | Cpu.TF | Cpu.DF | Cpu.OF | Cpu.NT | Cpu.AC | Cpu.ID;
    if (c.cpl == 0) {
      changeable |= Cpu.IOPL | Cpu.IF;
    } else if (c.cpl <= c.iopl()) {
      changeable |= Cpu.IF;
    }
    if (op.operandSize == 2) {
      changeable &= 0xFFFF;
    }
    c.flags = (c.flags & ~changeable) | (value & changeable) | 2;
  }

  static void leave(Cpu c, Op op) {
    int as = c.stackAddressSize();
    long bp = c.r[5] & mask(as);
    long value = c.mmu.read(c.linear(Cpu.SS, bp, as), op.operandSize);
    c.setGpr(4, as, bp + op.operandSize);
    c.setGpr(5, op.operandSize, value);
  }

  static void convert(Cpu c, Op op) {
    int size = op.operandSize;
    if (op.mnemonic == Mnemonic.CBW) {
      c.setGpr(0, size, Cpu.signExtend(c.r[0], size / 2));
    } else {
      long sign = Cpu.signExtend(c.r[0], size) < 0 ? -1 : 0;
      c.setGpr(2, size, sign);
    }
  }

  static void bswap(Cpu c, Op op) {
    int size = op.size[0];
    long v = c.r[op.reg[0]];
    c.setGpr(
        op.reg[0],
        size,
        size == 8
            ? Long.reverseBytes(v)
            : size == 4 ? Integer.reverseBytes((int) v) & 0xFFFF_FFFFL : 0);
  }

  static void lahf(Cpu c) {
    c.r[0] = (c.r[0] & ~0xFF00L) | ((c.flags & 0xD5 | 2) << 8);
  }

  static void sahf(Cpu c) {
    c.flags = (c.flags & ~0xD5L) | ((c.r[0] >>> 8) & 0xD5);
  }
}
