package dev.glint.x86.decoder;

/**
 * One operand of a decoded {@link Instruction}: a register, a memory reference, an immediate, a
 * relative branch displacement or a far pointer. Immutable.
 */
public sealed interface Operand {

  /** {@return the operand's size in bytes (0 for a memory reference that only names an address)} */
  int size();

  /** The register files an operand register belongs to. */
  enum RegisterFile {
    /** General registers, index in x86 encoding order (0 = RAX .. 15 = R15). */
    GPR,
    /** The legacy high-byte registers AH, CH, DH, BH (index 0..3: bits 8..15 of RAX..RBX). */
    GPR_HIGH_BYTE,
    /** Segment registers: 0 = ES, 1 = CS, 2 = SS, 3 = DS, 4 = FS, 5 = GS. */
    SEGMENT,
    /** Control registers CR0..CR15 (index = n). */
    CONTROL,
    /** XMM registers XMM0..XMM15. */
    XMM
  }

  /**
   * A register.
   *
   * @param file the register file
   * @param index the register number within the file
   * @param size the bytes accessed (1, 2, 4, 8 or 16)
   */
  record Register(RegisterFile file, int index, int size) implements Operand {}

  /**
   * A memory reference: {@code segment:[base + index*scale + displacement]}, truncated to the
   * address size. RIP-relative references have {@code ripRelative} set, no base and no index; their
   * displacement is relative to the end of the instruction.
   *
   * @param segment the segment register (0 = ES .. 5 = GS), after overrides
   * @param base the base general register, or -1
   * @param index the index general register, or -1
   * @param scale 1, 2, 4 or 8
   * @param displacement the sign-extended displacement
   * @param ripRelative whether the address is relative to the next instruction
   * @param addressSize the address size in bytes (2, 4 or 8)
   * @param size the bytes accessed (0: the instruction uses the address only)
   */
  record Memory(
      int segment,
      int base,
      int index,
      int scale,
      long displacement,
      boolean ripRelative,
      int addressSize,
      int size)
      implements Operand {}

  /**
   * An immediate.
   *
   * @param value the value, sign-extended to 64 bits where the encoding sign-extends (such as
   *     {@code Ibs} and {@code Iz} with a 64-bit operand), otherwise zero-extended
   * @param size the operand size in bytes the value applies to
   */
  record Immediate(long value, int size) implements Operand {}

  /**
   * A branch displacement relative to the end of the instruction.
   *
   * @param displacement the sign-extended displacement in bytes
   * @param size the operand size the target is truncated to (2, 4 or 8)
   */
  record Relative(long displacement, int size) implements Operand {}

  /**
   * A far pointer {@code selector:offset} (a direct far jump).
   *
   * @param selector the code segment selector
   * @param offset the offset within the segment
   * @param size the offset's size in bytes
   */
  record FarPointer(int selector, long offset, int size) implements Operand {}
}
