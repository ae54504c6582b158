package dev.glint.x86.decoder;

import java.util.List;

/**
 * One decoded instruction. Immutable.
 *
 * @param mnemonic the operation
 * @param entry the table entry it was decoded from
 * @param mode the mode it was decoded in
 * @param length its length in bytes (1..15)
 * @param opcode the last opcode byte (for {@link Mnemonic#JCC} and friends the condition is in its
 *     low four bits)
 * @param operandSize the operand size in bytes (1, 2, 4 or 8)
 * @param addressSize the address size in bytes (2, 4 or 8)
 * @param prefixes the prefixes present, as the {@code PREFIX_*} bits
 * @param operands the operands, destination first
 */
public record Instruction(
    Mnemonic mnemonic,
    InstructionTable.Entry entry,
    CpuMode mode,
    int length,
    int opcode,
    int operandSize,
    int addressSize,
    int prefixes,
    List<Operand> operands) {

  /** A REP/REPE prefix (F3) that was not a mandatory prefix. */
  public static final int PREFIX_REP = 1;

  /** A REPNE prefix (F2) that was not a mandatory prefix. */
  public static final int PREFIX_REPNE = 2;

  /** A LOCK prefix (F0). */
  public static final int PREFIX_LOCK = 4;

  /** An operand-size prefix (66) that was not a mandatory prefix. */
  public static final int PREFIX_OPERAND_SIZE = 8;

  /** An address-size prefix (67). */
  public static final int PREFIX_ADDRESS_SIZE = 16;

  /** A REX prefix (any, including 40). */
  public static final int PREFIX_REX = 32;

  /** A REX prefix with W set. */
  public static final int PREFIX_REX_W = 64;

  /** A segment override prefix. */
  public static final int PREFIX_SEGMENT = 128;

  /** Validates the components. */
  public Instruction {
    if (length < 1 || length > Decoder.MAX_LENGTH) {
      throw new IllegalArgumentException("instruction length " + length + " is not in 1..15");
    }
    operands = List.copyOf(operands);
  }

  /** {@return the condition code (0..15) of a JCC, SETCC or CMOVCC: the opcode's low four bits} */
  public int condition() {
    return opcode & 0xF;
  }

  /** {@return whether every bit of {@code prefix} (a {@code PREFIX_*} constant) is present} */
  public boolean has(int prefix) {
    return (prefixes & prefix) == prefix;
  }

  /** {@return operand {@code i}, destination first} */
  public Operand operand(int i) {
    return operands.get(i);
  }
}
