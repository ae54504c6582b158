package dev.glint.differential.internal;

import dev.glint.hv.Register;

/** Names and numbering of the general registers: x86 encoding order against the SPI's order. */
public final class Registers64 {
  private Registers64() {}

  private static final String[] NAMES64 = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"
  };
  private static final String[] NAMES32 = {
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"
  };
  private static final String[] NAMES16 = {
    "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
    "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"
  };
  private static final String[] NAMES8 = {
    "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
    "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"
  };
  private static final String[] HIGH8 = {"ah", "ch", "dh", "bh"};

  /** The SPI register for each x86 register number. */
  private static final Register[] SPI = {
    Register.RAX, Register.RCX, Register.RDX, Register.RBX,
    Register.RSP, Register.RBP, Register.RSI, Register.RDI,
    Register.R8, Register.R9, Register.R10, Register.R11,
    Register.R12, Register.R13, Register.R14, Register.R15
  };

  /** The number of x86 register 4, RSP. */
  public static final int RSP = 4;

  /** {@return the assembler name of a register} */
  public static String name(int code, int size, boolean high) {
    if (high) {
      return HIGH8[code];
    }
    return switch (size) {
      case 1 -> NAMES8[code];
      case 2 -> NAMES16[code];
      case 4 -> NAMES32[code];
      default -> NAMES64[code];
    };
  }

  /** {@return the SPI register for x86 register number {@code code}} */
  public static Register spi(int code) {
    return SPI[code];
  }
}
