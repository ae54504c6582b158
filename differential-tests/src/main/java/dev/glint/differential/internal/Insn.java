package dev.glint.differential.internal;

import java.io.ByteArrayOutputStream;

/**
 * Encodes one x86-64 instruction: legacy prefixes, REX, opcode, ModRM, SIB, displacement and
 * immediate. Not thread-safe; build, then {@link #encode(long)}.
 *
 * <p>Only the forms the generator needs are supported; impossible combinations (a high-byte
 * register together with a REX prefix) fail with {@link IllegalStateException}, so a generator bug
 * never produces bytes that mean something else than intended.
 */
public final class Insn {
  private final ByteArrayOutputStream prefixes = new ByteArrayOutputStream();
  private final int[] opcode;
  private boolean rexW;
  private boolean forceRex;
  private boolean forbidRex;
  private int regField = -1;
  private Operand rm;
  private int plusReg = -1;
  private long immediate;
  private int immediateBytes;

  private Insn(int[] opcode) {
    this.opcode = opcode.clone();
  }

  /** {@return an instruction with these opcode bytes (escape bytes included, prefixes not)} */
  public static Insn op(int... opcode) {
    return new Insn(opcode);
  }

  /** Adds a legacy prefix (0x66, 0xF2, 0xF3, ...), in order, before any REX. */
  public Insn prefix(int prefix) {
    prefixes.write(prefix);
    return this;
  }

  /** Adds 0x66 if {@code size} is 2 and REX.W if it is 8. */
  public Insn size(int size) {
    if (size == 2) {
      prefix(0x66);
    } else if (size == 8) {
      rexW = true;
    }
    return this;
  }

  /** Sets REX.W. */
  public Insn w() {
    rexW = true;
    return this;
  }

  /** Sets the ModRM reg field to a register operand. */
  public Insn reg(Operand.Reg register) {
    track(register);
    regField = register.encoding();
    return this;
  }

  /** Sets the ModRM reg field to a number: an opcode extension (/digit) or an XMM register. */
  public Insn reg(int field) {
    regField = field;
    return this;
  }

  /** Sets the ModRM r/m operand. */
  public Insn rm(Operand operand) {
    if (operand instanceof Operand.Reg register) {
      track(register);
    } else if (((Operand.Mem) operand).needsRex()) {
      forceRex = true;
    }
    this.rm = operand;
    return this;
  }

  /** Sets the r/m operand to XMM register {@code xmm} (mod = 11). */
  public Insn rmXmm(int xmm) {
    this.rm = Operand.Reg.of(xmm, 8);
    if (xmm >= 8) {
      forceRex = true;
    }
    return this;
  }

  /** Sets the ModRM reg field to XMM register {@code xmm}. */
  public Insn regXmm(int xmm) {
    regField = xmm;
    if (xmm >= 8) {
      forceRex = true;
    }
    return this;
  }

  /** Adds the register to the low three bits of the last opcode byte (B8+r, 50+r, ...). */
  public Insn plus(Operand.Reg register) {
    track(register);
    plusReg = register.encoding();
    return this;
  }

  /** Appends an immediate of {@code bytes} bytes (1, 2, 4 or 8), little-endian. */
  public Insn imm(long value, int bytes) {
    immediate = value;
    immediateBytes = bytes;
    return this;
  }

  private void track(Operand.Reg register) {
    if (register.high()) {
      forbidRex = true;
    } else if (register.needsRex()) {
      forceRex = true;
    }
  }

  /**
   * {@return the instruction's bytes when it starts at {@code address}} (the address matters only
   * for RIP-relative references)
   *
   * @throws IllegalStateException if the operands cannot be encoded together
   */
  public byte[] encode(long address) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(prefixes.toByteArray());
    int rex = 0;
    if (rexW) {
      rex |= 8;
    }
    if (regField >= 8) {
      rex |= 4;
    }
    Operand.Mem mem = rm instanceof Operand.Mem m ? m : null;
    if (mem != null && mem.index() >= 8) {
      rex |= 2;
    }
    if (mem != null && mem.base() >= 8) {
      rex |= 1;
    }
    if (rm instanceof Operand.Reg r && r.encoding() >= 8) {
      rex |= 1;
    }
    if (plusReg >= 8) {
      rex |= 1;
    }
    if (rex != 0 || forceRex) {
      if (forbidRex) {
        throw new IllegalStateException("a high-byte register cannot be encoded with REX");
      }
      out.write(0x40 | rex);
    }
    for (int i = 0; i < opcode.length; i++) {
      int b = opcode[i];
      if (i == opcode.length - 1 && plusReg >= 0) {
        b += plusReg & 7;
      }
      out.write(b);
    }
    int dispAt = -1;
    if (rm != null) {
      int reg = (regField < 0 ? 0 : regField) & 7;
      if (rm instanceof Operand.Reg r) {
        out.write(0xC0 | reg << 3 | (r.encoding() & 7));
      } else {
        dispAt = modRmMemory(out, reg, mem);
      }
    }
    for (int i = 0; i < immediateBytes; i++) {
      out.write((int) (immediate >>> (8 * i)));
    }
    byte[] bytes = out.toByteArray();
    if (mem != null && mem.ripRelative()) {
      long disp = mem.ripTarget() - (address + bytes.length);
      if (disp != (int) disp) {
        throw new IllegalStateException("RIP-relative target out of reach");
      }
      for (int i = 0; i < 4; i++) {
        bytes[dispAt + i] = (byte) (disp >>> (8 * i));
      }
    }
    return bytes;
  }

  /** Writes ModRM, SIB and displacement; returns where a RIP-relative displacement starts. */
  private static int modRmMemory(ByteArrayOutputStream out, int reg, Operand.Mem mem) {
    if (mem.ripRelative()) {
      out.write(reg << 3 | 5);
      int at = out.size();
      out.writeBytes(new byte[4]);
      return at;
    }
    int scaleBits = Integer.numberOfTrailingZeros(mem.scale());
    int index = mem.index() < 0 ? 4 : mem.index() & 7;
    long disp = mem.disp();
    if (mem.base() < 0) {
      // No base: SIB with base 101 and mod 00 means disp32 only.
      out.write(reg << 3 | 4);
      out.write(scaleBits << 6 | index << 3 | 5);
      writeInt(out, disp);
      return -1;
    }
    int base = mem.base() & 7;
    int mod;
    if (disp == 0 && base != 5) {
      mod = 0;
    } else if (disp == (byte) disp) {
      mod = 1;
    } else {
      mod = 2;
    }
    boolean sib = mem.index() >= 0 || base == 4;
    out.write(mod << 6 | reg << 3 | (sib ? 4 : base));
    if (sib) {
      out.write(scaleBits << 6 | index << 3 | base);
    }
    if (mod == 1) {
      out.write((int) disp);
    } else if (mod == 2) {
      writeInt(out, disp);
    }
    return -1;
  }

  private static void writeInt(ByteArrayOutputStream out, long value) {
    for (int i = 0; i < 4; i++) {
      out.write((int) (value >>> (8 * i)));
    }
  }
}
