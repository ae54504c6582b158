package dev.glint.hv.emulated.internal.cpu;

import static dev.glint.hv.emulated.internal.cpu.Cpu.mask;

import dev.glint.x86.decoder.Mnemonic;

/**
 * MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS, with REP/REPE/REPNE. A repeated instruction runs a batch
 * of iterations per step and leaves RIP on itself until RCX reaches zero, so faults, exits and
 * cancellation land between iterations as on the processor. Port I/O does one item per exit.
 */
final class StringOps {
  private static final int BATCH = 4096;

  private StringOps() {}

  static void execute(Cpu c, Op op, Executor ex) {
    boolean repeated = op.rep || op.repne;
    int as = op.addrSize;
    long m = mask(as);
    if (!repeated) {
      once(c, op, ex, as);
      return;
    }
    long start = c.rip - op.length;
    for (int i = 0; i < BATCH; i++) {
      if ((c.r[1] & m) == 0) {
        return; // done: RIP is already past the instruction
      }
      once(c, op, ex, as);
      c.setGpr(1, as, c.r[1] - 1);
      if (op.mnemonic == Mnemonic.CMPS || op.mnemonic == Mnemonic.SCAS) {
        boolean zf = (c.flags & Cpu.ZF) != 0;
        if (op.rep && !zf || op.repne && zf) {
          return;
        }
      }
      if (ex.hasExit() || op.mnemonic == Mnemonic.INS) {
        break; // one I/O item per exit
      }
    }
    if ((c.r[1] & m) != 0) {
      c.rip = start; // more to do: execute this instruction again
    }
  }

  private static void once(Cpu c, Op op, Executor ex, int as) {
    int size = op.size[0] == 0 ? op.size[1] : op.size[0];
    if (op.kind[0] != Op.MEM) {
      size = op.size[1];
    }
    long step = (c.flags & Cpu.DF) != 0 ? -size : size;
    long si = c.r[6];
    long di = c.r[7];
    long src = c.linear(op.segment, si, as);
    long dst = c.linear(Cpu.ES, di, as);
    switch (op.mnemonic) {
      case MOVS -> {
        c.mmu.write(dst, size, c.mmu.read(src, size));
        c.setGpr(6, as, si + step);
        c.setGpr(7, as, di + step);
      }
      case STOS -> {
        c.mmu.write(dst, size, c.r[0]);
        c.setGpr(7, as, di + step);
      }
      case LODS -> {
        long v = c.mmu.read(src, size);
        c.setGpr(0, size, v);
        c.setGpr(6, as, si + step);
      }
      case CMPS -> {
        long a = c.mmu.read(src, size);
        long b = c.mmu.read(dst, size);
        AluOps.sub(c, a, b, 0, size);
        c.setGpr(6, as, si + step);
        c.setGpr(7, as, di + step);
      }
      case SCAS -> {
        long b = c.mmu.read(dst, size);
        AluOps.sub(c, c.r[0] & mask(size), b, 0, size);
        c.setGpr(7, as, di + step);
      }
      case INS -> {
        int port = (int) c.r[2] & 0xFFFF;
        SystemOps.checkIo(c, port, size);
        c.mmu.checkWritable(dst, size);
        long v = ex.portIn(port, size);
        c.mmu.write(dst, size, v);
        c.setGpr(7, as, di + step);
      }
      default -> { // OUTS
        int port = (int) c.r[2] & 0xFFFF;
        SystemOps.checkIo(c, port, size);
        long v = c.mmu.read(src, size);
        ex.portOut(port, size, v);
        c.setGpr(6, as, si + step);
      }
    }
  }
}
