package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.x86.decoder.Mnemonic;

/**
 * SSE and SSE2 as the guests use them: moves, bitwise logic, integer lanes, scalar single and
 * double arithmetic, comparisons and conversions, MXCSR, FXSAVE/FXRSTOR. Floating point rounds to
 * nearest whatever MXCSR.RC says, and exceptions are never raised (as with MXCSR's reset value, all
 * masked).
 */
final class SseOps {
  private SseOps() {}

  private static void checkEnabled(Cpu c) {
    if ((c.cr0 & 4) != 0 || (c.cr4 & (1L << 9)) == 0) {
      throw c.fault.of(GuestFault.UD);
    }
    if ((c.cr0 & 8) != 0) {
      throw c.fault.of(GuestFault.NM);
    }
  }

  private static boolean unalignedAllowed(Mnemonic m) {
    return switch (m) {
      case MOVUPS, MOVUPD, MOVDQU -> true;
      default -> false;
    };
  }

  /** Reads operand {@code i} into {@code out[0]} (low) and {@code out[1]} (high). */
  private static void load(Cpu c, Op op, int i, long addr, long[] out) {
    switch (op.kind[i]) {
      case Op.XMM -> {
        out[0] = c.xmm[2 * op.reg[i]];
        out[1] = c.xmm[2 * op.reg[i] + 1];
      }
      case Op.MEM -> {
        int size = op.size[i];
        if (size == 16) {
          if ((addr & 15) != 0 && !unalignedAllowed(op.mnemonic)) {
            throw c.fault.of(GuestFault.GP, 0);
          }
          long lo = c.mmu.read(addr, 8);
          out[1] = c.mmu.read(addr + 8, 8);
          out[0] = lo;
        } else {
          out[0] = c.mmu.read(addr, size);
          out[1] = 0;
        }
      }
      default -> {
        out[0] = c.read(op, i, addr);
        out[1] = 0;
      }
    }
  }

  private static void storeMemory(Cpu c, Op op, long addr, int size, long lo, long hi) {
    if (size == 16) {
      if ((addr & 15) != 0 && !unalignedAllowed(op.mnemonic)) {
        throw c.fault.of(GuestFault.GP, 0);
      }
      c.mmu.checkWritable(addr, 16);
      c.mmu.write(addr, 8, lo);
      c.mmu.write(addr + 8, 8, hi);
    } else {
      c.mmu.write(addr, size, lo);
    }
  }

  static void execute(Cpu c, Op op) {
    checkEnabled(c);
    long addr = c.addressIfMemory(op);
    long[] s = new long[2];
    Mnemonic m = op.mnemonic;
    switch (m) {
      case LDMXCSR -> {
        long v = c.mmu.read(addr, 4);
        if ((v & ~0xFFFFL) != 0) {
          throw c.fault.of(GuestFault.GP, 0);
        }
        c.mxcsr = (int) v;
        return;
      }
      case STMXCSR -> {
        c.mmu.write(addr, 4, c.mxcsr);
        return;
      }
      case FXSAVE -> {
        FxArea.save(c, addr);
        return;
      }
      case FXRSTOR -> {
        FxArea.restore(c, addr);
        return;
      }
      default -> {}
    }
    load(c, op, 1, addr, s);
    int d = op.kind[0] == Op.XMM ? 2 * op.reg[0] : -1;
    long dlo = d >= 0 ? c.xmm[d] : 0;
    long dhi = d >= 0 ? c.xmm[d + 1] : 0;
    long lo;
    long hi;
    switch (m) {
      case MOVUPS, MOVAPS, MOVUPD, MOVAPD, MOVDQA, MOVDQU -> {
        lo = s[0];
        hi = s[1];
      }
      case MOVSS, MOVSD -> {
        long width = m == Mnemonic.MOVSS ? 0xFFFF_FFFFL : -1L;
        if (op.kind[0] == Op.MEM) {
          storeMemory(c, op, addr, op.size[0], s[0], 0);
          return;
        }
        if (op.kind[1] == Op.MEM) {
          lo = s[0];
          hi = 0;
        } else {
          lo = (dlo & ~width) | (s[0] & width);
          hi = dhi;
        }
      }
      case MOVD, MOVQ -> {
        if (op.kind[0] != Op.XMM) {
          if (op.kind[0] == Op.MEM) {
            storeMemory(c, op, addr, op.size[0], s[0], 0);
          } else {
            c.write(op, 0, 0, s[0]);
          }
          return;
        }
        lo = s[0] & Cpu.mask(op.kind[1] == Op.XMM ? 8 : op.size[1]);
        hi = 0;
      }
      case PXOR, XORPS, XORPD -> {
        lo = dlo ^ s[0];
        hi = dhi ^ s[1];
      }
      case PAND, ANDPS, ANDPD -> {
        lo = dlo & s[0];
        hi = dhi & s[1];
      }
      case PANDN, ANDNPS, ANDNPD -> {
        lo = ~dlo & s[0];
        hi = ~dhi & s[1];
      }
      case POR, ORPS, ORPD -> {
        lo = dlo | s[0];
        hi = dhi | s[1];
      }
      case PADDB, PADDW, PADDD, PADDQ, PSUBB, PSUBW, PSUBD, PSUBQ -> {
        int lane =
            switch (m) {
              case PADDB, PSUBB -> 1;
              case PADDW, PSUBW -> 2;
              case PADDD, PSUBD -> 4;
              default -> 8;
            };
        boolean subtract = m.name().startsWith("PSUB");
        lo = lanes(dlo, s[0], lane, subtract);
        hi = lanes(dhi, s[1], lane, subtract);
      }
      case PCMPEQB, PCMPEQW, PCMPEQD -> {
        int lane = m == Mnemonic.PCMPEQB ? 1 : m == Mnemonic.PCMPEQW ? 2 : 4;
        lo = equalLanes(dlo, s[0], lane);
        hi = equalLanes(dhi, s[1], lane);
      }
      case PMOVMSKB -> {
        long mask = 0;
        for (int b = 0; b < 8; b++) {
          mask |= ((s[0] >>> (8 * b + 7)) & 1) << b;
          mask |= ((s[1] >>> (8 * b + 7)) & 1) << (b + 8);
        }
        c.write(op, 0, 0, mask);
        return;
      }
      case PUNPCKLQDQ -> {
        lo = dlo;
        hi = s[0];
      }
      case PSHUFD -> {
        int[] dw = {(int) s[0], (int) (s[0] >>> 32), (int) s[1], (int) (s[1] >>> 32)};
        int sel = (int) op.imm;
        lo = (dw[sel & 3] & 0xFFFF_FFFFL) | ((long) dw[(sel >>> 2) & 3] << 32);
        hi = (dw[(sel >>> 4) & 3] & 0xFFFF_FFFFL) | ((long) dw[(sel >>> 6) & 3] << 32);
      }
      case PSRLDQ, PSLLDQ -> {
        int n = (int) Math.min(op.imm & 0xFF, 16) * 8;
        java.math.BigInteger v = new java.math.BigInteger(1, toBytes(dlo, dhi));
        v = m == Mnemonic.PSRLDQ ? v.shiftRight(n) : v.shiftLeft(n);
        long newLo = v.longValue();
        long newHi = v.shiftRight(64).longValue();
        lo = newLo;
        hi = newHi;
      }
      case UCOMISS, COMISS, UCOMISD, COMISD -> {
        boolean single = m == Mnemonic.UCOMISS || m == Mnemonic.COMISS;
        double a = single ? Float.intBitsToFloat((int) dlo) : Double.longBitsToDouble(dlo);
        double b = single ? Float.intBitsToFloat((int) s[0]) : Double.longBitsToDouble(s[0]);
        long f;
        if (Double.isNaN(a) || Double.isNaN(b)) {
          f = Cpu.ZF | Cpu.PF | Cpu.CF;
        } else if (a < b) {
          f = Cpu.CF;
        } else if (a == b) {
          f = Cpu.ZF;
        } else {
          f = 0;
        }
        c.flags = (c.flags & ~Cpu.ARITH) | f;
        return;
      }
      case CVTTSS2SI, CVTTSD2SI -> {
        double v =
            m == Mnemonic.CVTTSS2SI
                ? Float.intBitsToFloat((int) s[0])
                : Double.longBitsToDouble(s[0]);
        int size = op.size[0];
        long result;
        if (size == 8) {
          result = Double.isNaN(v) || v >= 0x1p63 || v < -0x1p63 ? Long.MIN_VALUE : (long) v;
        } else {
          result = Double.isNaN(v) || v >= 0x1p31 || v < -0x1p31 ? Integer.MIN_VALUE : (long) v;
        }
        c.write(op, 0, 0, result);
        return;
      }
      default -> {
        long[] r = Scalar.compute(m, dlo, s[0], op.size[1] == 4 ? 4 : 8, op);
        lo = r[0];
        hi = dhi;
      }
    }
    if (op.kind[0] == Op.MEM) {
      storeMemory(c, op, addr, op.size[0], lo, hi);
    } else {
      c.xmm[d] = lo;
      c.xmm[d + 1] = hi;
    }
  }

  private static byte[] toBytes(long lo, long hi) {
    byte[] b = new byte[16];
    for (int i = 0; i < 8; i++) {
      b[15 - i] = (byte) (lo >>> (8 * i));
      b[7 - i] = (byte) (hi >>> (8 * i));
    }
    return b;
  }

  private static long lanes(long a, long b, int lane, boolean subtract) {
    if (lane == 8) {
      return subtract ? a - b : a + b;
    }
    long result = 0;
    int bits = lane * 8;
    long m = (1L << bits) - 1;
    for (int shift = 0; shift < 64; shift += bits) {
      long x = (a >>> shift) & m;
      long y = (b >>> shift) & m;
      result |= ((subtract ? x - y : x + y) & m) << shift;
    }
    return result;
  }

  private static long equalLanes(long a, long b, int lane) {
    long result = 0;
    int bits = lane * 8;
    long m = (1L << bits) - 1;
    for (int shift = 0; shift < 64; shift += bits) {
      if (((a >>> shift) & m) == ((b >>> shift) & m)) {
        result |= m << shift;
      }
    }
    return result;
  }

  /** Scalar single and double arithmetic and conversions (the low lane). */
  private static final class Scalar {
    static long[] compute(Mnemonic m, long dst, long src, int srcSize, Op op) {
      long result;
      switch (m) {
        case CVTSI2SS, CVTSI2SD -> {
          long v = Cpu.signExtend(src, op.size[1]);
          result =
              m == Mnemonic.CVTSI2SS
                  ? (dst & ~0xFFFF_FFFFL) | (Float.floatToRawIntBits((float) v) & 0xFFFF_FFFFL)
                  : Double.doubleToRawLongBits((double) v);
        }
        case CVTSS2SD -> result = Double.doubleToRawLongBits(Float.intBitsToFloat((int) src));
        case CVTSD2SS ->
            result =
                (dst & ~0xFFFF_FFFFL)
                    | (Float.floatToRawIntBits((float) Double.longBitsToDouble(src))
                        & 0xFFFF_FFFFL);
        default -> {
          boolean single = m.name().endsWith("SS");
          if (single) {
            float a = Float.intBitsToFloat((int) dst);
            float b = Float.intBitsToFloat((int) src);
            float r =
                switch (m) {
                  case ADDSS -> a + b;
                  case SUBSS -> a - b;
                  case MULSS -> a * b;
                  case DIVSS -> a / b;
                  default -> (float) Math.sqrt(b); // SQRTSS
                };
            result = (dst & ~0xFFFF_FFFFL) | (Float.floatToRawIntBits(r) & 0xFFFF_FFFFL);
          } else {
            double a = Double.longBitsToDouble(dst);
            double b = Double.longBitsToDouble(src);
            double r =
                switch (m) {
                  case ADDSD -> a + b;
                  case SUBSD -> a - b;
                  case MULSD -> a * b;
                  case DIVSD -> a / b;
                  case MINSD -> a < b ? a : b;
                  case MAXSD -> a > b ? a : b;
                  default -> Math.sqrt(b); // SQRTSD
                };
            result =
                (m == Mnemonic.MINSD && !(a < b)) || (m == Mnemonic.MAXSD && !(a > b))
                    ? src
                    : Double.doubleToRawLongBits(r);
          }
        }
      }
      return new long[] {result};
    }
  }
}
