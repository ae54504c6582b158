package dev.glint.x86.decoder;

import java.util.function.IntToLongFunction;

/**
 * One guest instruction that reads or writes memory, as a memory-mapped I/O exit needs it: the
 * hypervisor reports the guest-physical address, and the VMM must find the access size, the data
 * stored or the register loaded, and the instruction length to skip.
 *
 * <p>Supported forms: {@code mov r/m, reg} and {@code mov reg, r/m} (8, 16, 32 and 64 bits,
 * including AH..BH), {@code mov r/m, imm}, {@code mov} to and from {@code moffs} with the
 * accumulator, {@code movzx}, {@code movsx} and {@code movsxd}, each with a memory operand.
 *
 * <p>Immutable and thread-safe.
 *
 * {@snippet :
 * MmioInstruction insn = MmioInstruction.decode(code, 0, code.length, CpuMode.LONG_64);
 * if (insn.write()) {
 *   device.write(gpa, insn.size(), insn.valueToWrite(regs::gpr));
 * } else {
 *   int r = insn.destinationRegister();
 *   regs.setGpr(r, insn.registerAfterRead(regs.gpr(r), device.read(gpa, insn.size())));
 * }
 * regs.setRip(regs.rip() + insn.length());
 * }
 *
 * @param length instruction length in bytes (the VMM advances RIP by this)
 * @param write true: the guest stores to memory; false: the guest loads from memory
 * @param size the memory access size in bytes: 1, 2, 4 or 8
 * @param mnemonic the instruction ({@link Mnemonic#MOV}, {@link Mnemonic#MOVZX}, {@link
 *     Mnemonic#MOVSX} or {@link Mnemonic#MOVSXD})
 * @param register the general register operand (x86 encoding order; for a high-byte register the
 *     register that holds it: 0..3 for AH..BH), or -1 for a store of an immediate
 * @param highByte whether the register operand is AH, CH, DH or BH
 * @param registerSize the register operand's size in bytes (for {@code movzx}/{@code movsx} wider
 *     than {@code size})
 * @param immediate the value stored by a store of an immediate (0 otherwise)
 * @param signExtend whether a load sign-extends ({@code movsx}, {@code movsxd})
 */
public record MmioInstruction(
    int length,
    boolean write,
    int size,
    Mnemonic mnemonic,
    int register,
    boolean highByte,
    int registerSize,
    long immediate,
    boolean signExtend) {

  /**
   * Decodes the instruction at {@code bytes[offset, offset + count)} in {@code mode}.
   *
   * @param bytes the code
   * @param offset where the instruction starts
   * @param count how many bytes are available from {@code offset}
   * @param mode the processor mode
   * @return the memory access
   * @throws UnsupportedMmioInstructionException if it is not a plain memory move (see the class
   *     documentation), or the bytes are truncated or invalid; the message names the bytes
   * @throws IndexOutOfBoundsException if the range lies outside {@code bytes}
   */
  public static MmioInstruction decode(byte[] bytes, int offset, int count, CpuMode mode)
      throws UnsupportedMmioInstructionException {
    Instruction insn;
    try {
      insn = Decoder.decode(bytes, offset, count, mode);
    } catch (DecodeException e) {
      throw new UnsupportedMmioInstructionException(
          "cannot complete a memory access: " + e.getMessage(), e);
    }
    MmioInstruction result = fromInstruction(insn);
    if (result == null) {
      throw new UnsupportedMmioInstructionException(
          "not a plain memory move ("
              + insn.mnemonic()
              + " "
              + insn.entry().operands()
              + "): "
              + java.util.HexFormat.ofDelimiter(" ")
                  .formatHex(bytes, offset, offset + insn.length()),
          null);
    }
    return result;
  }

  /** {@return the access {@code insn} makes, or null if it is not a supported memory move} */
  private static MmioInstruction fromInstruction(Instruction insn) {
    Mnemonic m = insn.mnemonic();
    if (insn.operands().size() != 2
        || (m != Mnemonic.MOV && m != Mnemonic.MOVZX && m != Mnemonic.MOVSX)
            && m != Mnemonic.MOVSXD) {
      return null;
    }
    Operand dst = insn.operand(0);
    Operand src = insn.operand(1);
    if (dst instanceof Operand.Memory mem) {
      if (src instanceof Operand.Register r && isGpr(r)) {
        return new MmioInstruction(
            insn.length(), true, mem.size(), m, r.index(), highByte(r), r.size(), 0, false);
      }
      if (src instanceof Operand.Immediate imm) {
        return new MmioInstruction(
            insn.length(), true, mem.size(), m, -1, false, mem.size(), imm.value(), false);
      }
      return null;
    }
    if (src instanceof Operand.Memory mem && dst instanceof Operand.Register r && isGpr(r)) {
      boolean sign = m == Mnemonic.MOVSX || m == Mnemonic.MOVSXD;
      return new MmioInstruction(
          insn.length(), false, mem.size(), m, r.index(), highByte(r), r.size(), 0, sign);
    }
    return null;
  }

  private static boolean isGpr(Operand.Register r) {
    return r.file() == Operand.RegisterFile.GPR || r.file() == Operand.RegisterFile.GPR_HIGH_BYTE;
  }

  private static boolean highByte(Operand.Register r) {
    return r.file() == Operand.RegisterFile.GPR_HIGH_BYTE;
  }

  /**
   * For a write: the value stored, little-endian in the low {@link #size()} bytes.
   *
   * @param gpr reads general register {@code i} (x86 encoding order: 0 = RAX .. 15 = R15)
   * @return the value, zero above the low {@code size} bytes
   * @throws IllegalStateException if this is a read
   */
  public long valueToWrite(IntToLongFunction gpr) {
    if (!write) {
      throw new IllegalStateException("valueToWrite on a read from memory");
    }
    if (register < 0) {
      return immediate & mask(size);
    }
    long value = gpr.applyAsLong(register);
    return (highByte ? value >>> 8 : value) & mask(size);
  }

  /**
   * For a read: the general register (x86 encoding order) the loaded data goes to; for AH..BH the
   * register that holds it (RAX..RBX).
   *
   * @return the register index, 0..15
   * @throws IllegalStateException if this is a write
   */
  public int destinationRegister() {
    if (write) {
      throw new IllegalStateException("destinationRegister on a write to memory");
    }
    return register;
  }

  /**
   * For a read: the destination register's new 64-bit value after loading {@code data}. Merges 8-
   * and 16-bit writes into the old value, zero-extends 32-bit writes, zero- or sign-extends for
   * {@code movzx}/{@code movsx}/{@code movsxd}, and places AH..BH in bits 8..15.
   *
   * @param oldValue the register's value before the load
   * @param data the loaded data in its low {@link #size()} bytes (higher bits are ignored)
   * @return the register's new value
   * @throws IllegalStateException if this is a write
   */
  public long registerAfterRead(long oldValue, long data) {
    if (write) {
      throw new IllegalStateException("registerAfterRead on a write to memory");
    }
    long value = data & mask(size);
    if (signExtend && size < 8) {
      int shift = 64 - 8 * size;
      value = (value << shift) >> shift;
    }
    value &= mask(registerSize);
    if (highByte) {
      return (oldValue & ~0xFF00L) | (value << 8);
    }
    return switch (registerSize) {
      case 1 -> (oldValue & ~0xFFL) | value;
      case 2 -> (oldValue & ~0xFFFFL) | value;
      default -> value; // 4 bytes zero-extend; 8 replace
    };
  }

  private static long mask(int bytes) {
    return bytes >= 8 ? -1L : (1L << (8 * bytes)) - 1;
  }
}
