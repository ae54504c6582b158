package dev.glint.differential.internal;

/** An instruction operand for {@link Insn}: a general register or a memory reference. */
public sealed interface Operand {

  /**
   * A general register of one operand size.
   *
   * @param code the register number in x86 encoding order (0 = RAX, 1 = RCX, 2 = RDX, 3 = RBX, 4 =
   *     RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8..15 = R8..R15); for a high-byte register, the number of
   *     the register it is part of (0..3 for AH, CH, DH, BH)
   * @param size 1, 2, 4 or 8 bytes
   * @param high whether this is AH, CH, DH or BH (size 1, encodable only without a REX prefix)
   */
  record Reg(int code, int size, boolean high) implements Operand {
    /** Checks the ranges. */
    public Reg {
      if (code < 0 || code > 15 || (high && (code > 3 || size != 1))) {
        throw new IllegalArgumentException("no register %d/%d/%b".formatted(code, size, high));
      }
    }

    /** {@return the register {@code code} at {@code size}, not a high-byte one} */
    public static Reg of(int code, int size) {
      return new Reg(code, size, false);
    }

    /** {@return the 3-bit-plus-REX number used in the encoding (AH..BH are 4..7)} */
    int encoding() {
      return high ? code + 4 : code;
    }

    /** {@return whether the encoding needs a REX prefix: R8..R15, or SPL, BPL, SIL, DIL} */
    boolean needsRex() {
      return code >= 8 || (size == 1 && !high && code >= 4);
    }

    @Override
    public String toString() {
      return Registers64.name(code, size, high);
    }
  }

  /**
   * A memory reference: {@code [base + index * scale + disp]}, or {@code [rip + disp]} aimed at an
   * absolute target.
   *
   * @param base the base register number, or -1 for none
   * @param index the index register number (not 4, RSP), or -1 for none
   * @param scale 1, 2, 4 or 8
   * @param disp the displacement (must fit 32 bits signed)
   * @param ripTarget for a RIP-relative reference, the absolute address it names; otherwise unused
   * @param ripRelative whether the reference is RIP-relative
   */
  record Mem(int base, int index, int scale, long disp, long ripTarget, boolean ripRelative)
      implements Operand {
    /** Checks the ranges. */
    public Mem {
      if (base < -1 || base > 15 || index < -1 || index > 15 || index == 4) {
        throw new IllegalArgumentException("bad base %d or index %d".formatted(base, index));
      }
      if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
        throw new IllegalArgumentException("bad scale " + scale);
      }
      if (disp != (int) disp) {
        throw new IllegalArgumentException(
            "displacement 0x%x does not fit 32 bits".formatted(disp));
      }
    }

    /** {@return {@code [base + disp]}} */
    public static Mem baseDisp(int base, long disp) {
      return new Mem(base, -1, 1, disp, 0, false);
    }

    /** {@return {@code [rip + target - next]}} */
    public static Mem rip(long target) {
      return new Mem(-1, -1, 1, 0, target, true);
    }

    /** {@return whether the encoding needs a REX prefix (REX.B or REX.X)} */
    boolean needsRex() {
      return base >= 8 || index >= 8;
    }
  }
}
