package dev.glint.x86.decoder;

/**
 * The processor mode an instruction is decoded in; it sets the default operand and address sizes
 * and which encodings are valid.
 */
public enum CpuMode {
  /** Real mode (and 16-bit protected-mode code): 16-bit operands and addresses by default. */
  REAL_16,
  /** 32-bit protected mode (a code segment with D=1): 32-bit operands and addresses by default. */
  PROTECTED_32,
  /** 64-bit long mode: 32-bit operands by default, 64-bit addresses, REX prefixes. */
  LONG_64
}
