package dev.glint.hv;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The x87 FPU and SSE state of a vCPU, in the terms of the FXSAVE area (Intel SDM Vol. 1, 10.5.1):
 * an immutable value. It covers the x87 stack, its control, status and tag words, the last
 * instruction and data pointers, the 16 XMM registers and MXCSR. It does not cover AVX and later
 * extended state (the upper halves of YMM/ZMM, mask registers).
 *
 * <p>The arrays are copied in and out, so a state can never change once made.
 *
 * @param x87 the 8 x87 registers ST0..ST7 (physical order R0..R7 as FXSAVE stores them), 16 bytes
 *     each (an 80-bit value in the low 10 bytes): 128 bytes
 * @param fcw the x87 control word (16 bits)
 * @param fsw the x87 status word (16 bits)
 * @param ftw the abridged x87 tag word (8 bits, one bit per register: 1 = valid)
 * @param lastOpcode the last x87 opcode (11 bits used)
 * @param lastInstructionPointer the last x87 instruction pointer
 * @param lastDataPointer the last x87 data (operand) pointer
 * @param xmm XMM0..XMM15, 16 bytes each, little-endian: 256 bytes
 * @param mxcsr the SSE control and status register
 */
public record FpuState(
    byte[] x87,
    int fcw,
    int fsw,
    int ftw,
    int lastOpcode,
    long lastInstructionPointer,
    long lastDataPointer,
    byte[] xmm,
    int mxcsr) {

  /** The size of {@link #x87()}, in bytes. */
  public static final int X87_BYTES = 8 * 16;

  /** The size of {@link #xmm()}, in bytes. */
  public static final int XMM_BYTES = 16 * 16;

  /**
   * Checks and copies.
   *
   * @throws IllegalArgumentException if an array has the wrong length, or a 16-bit word or the tag
   *     byte is out of range
   */
  public FpuState {
    if (x87.length != X87_BYTES) {
      throw new IllegalArgumentException(
          "x87 holds %d bytes, expected %d".formatted(x87.length, X87_BYTES));
    }
    if (xmm.length != XMM_BYTES) {
      throw new IllegalArgumentException(
          "xmm holds %d bytes, expected %d".formatted(xmm.length, XMM_BYTES));
    }
    checkRange("fcw", fcw, 0xFFFF);
    checkRange("fsw", fsw, 0xFFFF);
    checkRange("ftw", ftw, 0xFF);
    checkRange("lastOpcode", lastOpcode, 0xFFFF);
    x87 = x87.clone();
    xmm = xmm.clone();
  }

  private static void checkRange(String name, int value, int max) {
    if (value < 0 || value > max) {
      throw new IllegalArgumentException("%s 0x%x is outside 0..0x%x".formatted(name, value, max));
    }
  }

  /**
   * {@return the state after FNINIT and a reset MXCSR}: control word 0x37F, everything else clear,
   * MXCSR 0x1F80 (all SSE exceptions masked)
   */
  public static FpuState initial() {
    return new FpuState(new byte[X87_BYTES], 0x37F, 0, 0, 0, 0, 0, new byte[XMM_BYTES], 0x1F80);
  }

  /** {@return a copy of the x87 registers, 128 bytes} */
  @Override
  public byte[] x87() {
    return x87.clone();
  }

  /** {@return a copy of XMM0..XMM15, 256 bytes} */
  @Override
  public byte[] xmm() {
    return xmm.clone();
  }

  /**
   * {@return XMM register {@code index} as two longs, low then high}
   *
   * @param index 0..15
   * @throws IndexOutOfBoundsException if {@code index} is outside 0..15
   */
  public long[] xmmRegister(int index) {
    java.util.Objects.checkIndex(index, 16);
    java.nio.ByteBuffer bytes =
        java.nio.ByteBuffer.wrap(xmm, index * 16, 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    return new long[] {bytes.getLong(), bytes.getLong()};
  }

  /**
   * {@return a copy with XMM register {@code index} set to {@code low}:{@code high}}
   *
   * @param index 0..15
   * @param low bits 0..63
   * @param high bits 64..127
   * @throws IndexOutOfBoundsException if {@code index} is outside 0..15
   */
  public FpuState withXmmRegister(int index, long low, long high) {
    java.util.Objects.checkIndex(index, 16);
    byte[] copy = xmm.clone();
    java.nio.ByteBuffer.wrap(copy, index * 16, 16)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putLong(low)
        .putLong(high);
    return new FpuState(
        x87, fcw, fsw, ftw, lastOpcode, lastInstructionPointer, lastDataPointer, copy, mxcsr);
  }

  /** {@return a copy with MXCSR set to {@code value}} */
  public FpuState withMxcsr(int value) {
    return new FpuState(
        x87, fcw, fsw, ftw, lastOpcode, lastInstructionPointer, lastDataPointer, xmm, value);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof FpuState that
        && Arrays.equals(x87, that.x87)
        && fcw == that.fcw
        && fsw == that.fsw
        && ftw == that.ftw
        && lastOpcode == that.lastOpcode
        && lastInstructionPointer == that.lastInstructionPointer
        && lastDataPointer == that.lastDataPointer
        && Arrays.equals(xmm, that.xmm)
        && mxcsr == that.mxcsr;
  }

  @Override
  public int hashCode() {
    int hash = Arrays.hashCode(x87);
    hash = 31 * hash + Arrays.hashCode(xmm);
    hash = 31 * hash + Long.hashCode(lastInstructionPointer ^ lastDataPointer);
    return 31 * hash + (fcw ^ fsw << 16 ^ ftw ^ lastOpcode << 8 ^ mxcsr);
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "FpuState[fcw=0x%x, fsw=0x%x, ftw=0x%x, fop=0x%x, fip=0x%x, fdp=0x%x, mxcsr=0x%x, x87=%s, xmm=%s]"
        .formatted(
            fcw,
            fsw,
            ftw,
            lastOpcode,
            lastInstructionPointer,
            lastDataPointer,
            mxcsr,
            hex.formatHex(x87),
            hex.formatHex(xmm));
  }
}
