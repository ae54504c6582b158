package dev.glint.hv.emulated.internal.cpu;

import static dev.glint.hv.emulated.internal.cpu.Cpu.AF;
import static dev.glint.hv.emulated.internal.cpu.Cpu.CF;
import static dev.glint.hv.emulated.internal.cpu.Cpu.OF;
import static dev.glint.hv.emulated.internal.cpu.Cpu.ZF;
import static dev.glint.hv.emulated.internal.cpu.Cpu.mask;

import dev.glint.hv.emulated.internal.fault.GuestFault;

/** Integer arithmetic, logic, shifts and rotates, multiply and divide, bit operations. */
final class AluOps {
  private AluOps() {}

  /** ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST: two operands, flags. */
  static void binary(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    long a = c.read(op, 0, addr);
    long b = op.kind[1] == Op.IMM ? op.imm & mask(size) : c.read(op, 1, addr);
    long carry = c.flags & CF;
    long result;
    switch (op.mnemonic) {
      case ADD -> result = add(c, a, b, 0, size);
      case ADC -> result = add(c, a, b, carry, size);
      case SUB, CMP -> result = sub(c, a, b, 0, size);
      case SBB -> result = sub(c, a, b, carry, size);
      case AND, TEST -> result = logic(c, a & b, size);
      case OR -> result = logic(c, a | b, size);
      default -> result = logic(c, a ^ b, size); // XOR
    }
    if (op.mnemonic != dev.glint.x86.decoder.Mnemonic.CMP
        && op.mnemonic != dev.glint.x86.decoder.Mnemonic.TEST) {
      long flags = c.flags;
      c.write(op, 0, addr, result);
      c.flags = flags;
    }
  }

  static long add(Cpu c, long a, long b, long carry, int size) {
    long m = mask(size);
    long result = (a + b + carry) & m;
    boolean cf =
        size == 8
            ? Long.compareUnsigned(result, a) < 0 || (carry != 0 && result == a)
            : ((a + b + carry) >>> (size << 3)) != 0;
    long sign = 1L << ((size << 3) - 1);
    boolean of = ((a ^ result) & (b ^ result) & sign) != 0;
    c.setFlags(result, size, (cf ? CF : 0) | (of ? OF : 0) | ((a ^ b ^ result) & AF));
    return result;
  }

  static long sub(Cpu c, long a, long b, long borrow, int size) {
    long m = mask(size);
    long result = (a - b - borrow) & m;
    boolean cf = Long.compareUnsigned(a, b) < 0 || (borrow != 0 && a == b);
    long sign = 1L << ((size << 3) - 1);
    boolean of = ((a ^ b) & (a ^ result) & sign) != 0;
    c.setFlags(result, size, (cf ? CF : 0) | (of ? OF : 0) | ((a ^ b ^ result) & AF));
    return result;
  }

  static long logic(Cpu c, long result, int size) {
    c.setFlags(result, size, 0);
    return result & mask(size);
  }

  /** INC, DEC, NOT, NEG: one operand. */
  static void unary(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    long a = c.read(op, 0, addr);
    long saved = c.flags;
    long result;
    switch (op.mnemonic) {
      case INC -> {
        result = add(c, a, 1, 0, size);
        c.flags = (c.flags & ~CF) | (saved & CF);
      }
      case DEC -> {
        result = sub(c, a, 1, 0, size);
        c.flags = (c.flags & ~CF) | (saved & CF);
      }
      case NOT -> result = ~a & mask(size);
      default -> result = sub(c, 0, a, 0, size); // NEG
    }
    long flags = c.flags;
    c.flags = saved;
    c.write(op, 0, addr, result);
    c.flags = flags;
  }

  /** ROL, ROR, RCL, RCR, SHL, SHR, SAR. */
  static void shift(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    int bits = size << 3;
    long a = c.read(op, 0, addr);
    int count = (int) (op.kind[1] == Op.IMM ? op.imm : c.r[1]) & (size == 8 ? 63 : 31);
    if (count == 0) {
      // Flags unchanged; a 32-bit register destination is still zero-extended.
      c.write(op, 0, addr, a);
      return;
    }
    long m = mask(size);
    long sign = 1L << (bits - 1);
    long result;
    long flags = c.flags;
    switch (op.mnemonic) {
      case SHL -> {
        result = count >= 64 ? 0 : (a << count) & m;
        boolean cf = count <= bits && ((a >>> (bits - count)) & 1) != 0;
        boolean of = ((result & sign) != 0) != cf;
        c.setFlags(result, size, (cf ? CF : 0) | (of ? OF : 0));
      }
      case SHR -> {
        result = count >= bits ? 0 : a >>> count;
        boolean cf = count <= bits && ((a >>> (count - 1)) & 1) != 0;
        boolean of = (a & sign) != 0;
        c.setFlags(result, size, (cf ? CF : 0) | (of ? OF : 0));
      }
      case SAR -> {
        long s = Cpu.signExtend(a, size);
        result = (s >> Math.min(count, 63)) & m;
        boolean cf = ((s >> Math.min(count - 1, 63)) & 1) != 0;
        c.setFlags(result, size, cf ? CF : 0);
      }
      case ROL, ROR -> {
        int n = count % bits;
        result =
            op.mnemonic == dev.glint.x86.decoder.Mnemonic.ROL
                ? ((a << n) | (n == 0 ? 0 : a >>> (bits - n))) & m
                : ((a >>> n) | (n == 0 ? 0 : a << (bits - n))) & m;
        boolean cf;
        boolean of;
        if (op.mnemonic == dev.glint.x86.decoder.Mnemonic.ROL) {
          cf = (result & 1) != 0;
          of = ((result & sign) != 0) != cf;
        } else {
          cf = (result & sign) != 0;
          of = cf != ((result & (sign >>> 1)) != 0);
        }
        c.flags = (flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      }
      default -> { // RCL, RCR: rotate through the carry, bits + 1 positions
        int n = count % (bits + 1);
        long cf = flags & CF;
        result = a;
        for (int k = 0; k < n; k++) {
          if (op.mnemonic == dev.glint.x86.decoder.Mnemonic.RCL) {
            long out = (result & sign) != 0 ? 1 : 0;
            result = ((result << 1) | cf) & m;
            cf = out;
          } else {
            long out = result & 1;
            result = (result >>> 1) | (cf != 0 ? sign : 0);
            cf = out;
          }
        }
        boolean of =
            op.mnemonic == dev.glint.x86.decoder.Mnemonic.RCL
                ? ((result & sign) != 0) != (cf != 0)
                : ((result & sign) != 0) != ((result & (sign >>> 1)) != 0);
        c.flags = (flags & ~(CF | OF)) | cf | (of ? OF : 0);
      }
    }
    long computed = c.flags;
    c.flags = flags;
    c.write(op, 0, addr, result);
    c.flags = computed;
  }

  /** SHLD, SHRD. */
  static void doubleShift(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    int bits = size << 3;
    long a = c.read(op, 0, addr);
    long b = c.read(op, 1, addr);
    int count = (int) (op.kind[2] == Op.IMM ? op.imm : c.r[1]) & (size == 8 ? 63 : 31);
    if (count == 0) {
      c.write(op, 0, addr, a);
      return;
    }
    long m = mask(size);
    long result;
    boolean cf;
    if (count > bits) {
      count = count % bits; // undefined for 16-bit operands; keep it deterministic
      if (count == 0) {
        c.write(op, 0, addr, a);
        return;
      }
    }
    if (op.mnemonic == dev.glint.x86.decoder.Mnemonic.SHLD) {
      result = ((a << count) | (count == bits ? b : b >>> (bits - count))) & m;
      if (count == bits) {
        result = b & m;
      }
      cf = ((a >>> (bits - count)) & 1) != 0;
    } else {
      result = ((a >>> count) | (count == bits ? 0 : b << (bits - count))) & m;
      if (count == bits) {
        result = b & m;
      }
      cf = ((a >>> (count - 1)) & 1) != 0;
    }
    long sign = 1L << (bits - 1);
    boolean of = ((a ^ result) & sign) != 0;
    long saved = c.flags;
    c.setFlags(result, size, (cf ? CF : 0) | (of ? OF : 0));
    long computed = c.flags;
    c.flags = saved;
    c.write(op, 0, addr, result);
    c.flags = computed;
  }

  /** MUL, IMUL (one, two and three operands), DIV, IDIV. */
  static void multiplyDivide(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    if (op.count >= 2) { // IMUL r, r/m [, imm]
      int size = op.size[0];
      long a = Cpu.signExtend(c.read(op, 1, addr), size);
      long b =
          op.count == 3 ? Cpu.signExtend(op.imm, size) : Cpu.signExtend(c.read(op, 0, 0), size);
      long low = a * b;
      boolean overflow =
          size == 8 ? Math.multiplyHigh(a, b) != (low >> 63) : Cpu.signExtend(low, size) != low;
      c.setFlags(low, size, overflow ? CF | OF : 0);
      c.write(op, 0, 0, low);
      return;
    }
    int size = op.size[0];
    long src = c.read(op, 0, addr);
    int bits = size << 3;
    long m = mask(size);
    long acc = size == 1 ? c.r[0] & 0xFF : c.r[0] & m;
    long high = size == 1 ? (c.r[0] >>> 8) & 0xFF : c.r[2] & m;
    switch (op.mnemonic) {
      case MUL -> {
        long lo;
        long hi;
        if (size == 8) {
          lo = acc * src;
          hi = Math.unsignedMultiplyHigh(acc, src);
        } else {
          long p = acc * src;
          lo = p & m;
          hi = (p >>> bits) & m;
        }
        storeWide(c, size, lo, hi);
        c.setFlags(lo, size, hi != 0 ? CF | OF : 0);
      }
      case IMUL -> {
        long a = Cpu.signExtend(acc, size);
        long b = Cpu.signExtend(src, size);
        long lo;
        long hi;
        if (size == 8) {
          lo = a * b;
          hi = Math.multiplyHigh(a, b);
        } else {
          long p = a * b;
          lo = p & m;
          hi = (p >> bits) & m;
        }
        boolean overflow = Cpu.signExtend(lo, size) >> 63 != Cpu.signExtend(hi, size);
        storeWide(c, size, lo, hi);
        c.setFlags(lo, size, overflow ? CF | OF : 0);
      }
      case DIV -> {
        if (src == 0) {
          throw c.fault.of(GuestFault.DE);
        }
        long q;
        long rem;
        if (size == 8) {
          if (Long.compareUnsigned(high, src) >= 0) {
            throw c.fault.of(GuestFault.DE);
          }
          java.math.BigInteger n =
              new java.math.BigInteger(Long.toUnsignedString(high))
                  .shiftLeft(64)
                  .add(new java.math.BigInteger(Long.toUnsignedString(acc)));
          java.math.BigInteger[] qr =
              n.divideAndRemainder(new java.math.BigInteger(Long.toUnsignedString(src)));
          q = qr[0].longValue();
          rem = qr[1].longValue();
        } else {
          long n = (high << bits) | acc;
          q = Long.divideUnsigned(n, src);
          rem = Long.remainderUnsigned(n, src);
          if ((q & ~m) != 0) {
            throw c.fault.of(GuestFault.DE);
          }
        }
        storeWide(c, size, q, rem);
      }
      default -> { // IDIV
        long d = Cpu.signExtend(src, size);
        if (d == 0) {
          throw c.fault.of(GuestFault.DE);
        }
        long q;
        long rem;
        if (size == 8) {
          java.math.BigInteger n =
              java.math.BigInteger.valueOf(high)
                  .shiftLeft(64)
                  .or(new java.math.BigInteger(Long.toUnsignedString(acc)));
          java.math.BigInteger[] qr = n.divideAndRemainder(java.math.BigInteger.valueOf(d));
          if (qr[0].bitLength() > 63) {
            throw c.fault.of(GuestFault.DE);
          }
          q = qr[0].longValue();
          rem = qr[1].longValue();
        } else {
          long n = Cpu.signExtend((high << bits) | acc, size * 2);
          q = n / d;
          rem = n % d;
          if (Cpu.signExtend(q & m, size) != q) {
            throw c.fault.of(GuestFault.DE);
          }
        }
        storeWide(c, size, q & m, rem & m);
      }
    }
  }

  /** Stores a double-width result: AX for bytes, else rDX:rAX. */
  private static void storeWide(Cpu c, int size, long low, long high) {
    if (size == 1) {
      c.setGpr(0, 2, (low & 0xFF) | ((high & 0xFF) << 8));
    } else {
      c.setGpr(0, size, low);
      c.setGpr(2, size, high);
    }
  }

  /** BT, BTS, BTR, BTC. */
  static void bitTest(Cpu c, Op op) {
    int size = op.size[0];
    int bits = size << 3;
    long offset = op.kind[1] == Op.IMM ? op.imm & (bits - 1) : c.read(op, 1, 0);
    long addr = 0;
    long value;
    int bit;
    if (op.kind[0] == Op.MEM) {
      long base = c.address(op);
      long signed = op.kind[1] == Op.IMM ? offset : Cpu.signExtend(offset, size);
      addr = base + (signed >> 3 & ~(size - 1L));
      if (op.kind[1] == Op.IMM) {
        addr = base;
      }
      bit = (int) (signed & (bits - 1));
      value = c.mmu.read(addr, size);
    } else {
      bit = (int) (offset & (bits - 1));
      value = c.read(op, 0, 0);
    }
    boolean set = ((value >>> bit) & 1) != 0;
    long result =
        switch (op.mnemonic) {
          case BTS -> value | (1L << bit);
          case BTR -> value & ~(1L << bit);
          case BTC -> value ^ (1L << bit);
          default -> value;
        };
    if (op.mnemonic != dev.glint.x86.decoder.Mnemonic.BT) {
      if (op.kind[0] == Op.MEM) {
        c.mmu.write(addr, size, result);
      } else {
        c.write(op, 0, 0, result);
      }
    }
    c.flags = (c.flags & ~CF) | (set ? CF : 0);
  }

  /** BSF, BSR, TZCNT, LZCNT, POPCNT. */
  static void bitScan(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    long src = c.read(op, 1, addr);
    int bits = size << 3;
    switch (op.mnemonic) {
      case BSF, BSR -> {
        if (src == 0) {
          c.flags |= ZF; // destination unchanged, as the processors do
          return;
        }
        long result =
            op.mnemonic == dev.glint.x86.decoder.Mnemonic.BSF
                ? Long.numberOfTrailingZeros(src)
                : 63 - Long.numberOfLeadingZeros(src);
        c.flags &= ~ZF;
        c.write(op, 0, 0, result);
      }
      case TZCNT, LZCNT -> {
        long result =
            op.mnemonic == dev.glint.x86.decoder.Mnemonic.TZCNT
                ? Math.min(Long.numberOfTrailingZeros(src), bits)
                : Long.numberOfLeadingZeros(src) - (64 - bits);
        c.write(op, 0, 0, result);
        c.flags = (c.flags & ~(CF | ZF)) | (src == 0 ? CF : 0) | (result == 0 ? ZF : 0);
      }
      default -> { // POPCNT
        c.write(op, 0, 0, Long.bitCount(src));
        c.flags = (c.flags & ~Cpu.ARITH) | (src == 0 ? ZF : 0);
      }
    }
  }

  /** XADD, CMPXCHG. */
  static void exchangeArithmetic(Cpu c, Op op) {
    long addr = c.addressIfMemory(op);
    int size = op.size[0];
    long dst = c.read(op, 0, addr);
    long src = c.read(op, 1, addr);
    if (op.mnemonic == dev.glint.x86.decoder.Mnemonic.XADD) {
      long saved = c.flags;
      long sum = add(c, dst, src, 0, size);
      long computed = c.flags;
      c.flags = saved;
      c.write(op, 0, addr, sum);
      c.write(op, 1, addr, dst);
      c.flags = computed;
      return;
    }
    long acc = c.r[0] & mask(size);
    long saved = c.flags;
    sub(c, acc, dst, 0, size);
    long computed = c.flags;
    c.flags = saved;
    if (acc == dst) {
      c.write(op, 0, addr, src);
    } else {
      c.write(op, 0, addr, dst); // the processor always writes the destination
      c.setGpr(0, size, dst);
    }
    c.flags = computed;
  }
}
