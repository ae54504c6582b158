package dev.glint.hv;

/** The general-purpose registers, instruction pointer and flags held in {@link Registers}. */
public enum Register {
  /** Accumulator. */
  RAX,
  /** Base. */
  RBX,
  /** Count. */
  RCX,
  /** Data. */
  RDX,
  /** Source index. */
  RSI,
  /** Destination index. */
  RDI,
  /** Stack pointer. */
  RSP,
  /** Frame pointer. */
  RBP,
  /** General register 8. */
  R8,
  /** General register 9. */
  R9,
  /** General register 10. */
  R10,
  /** General register 11. */
  R11,
  /** General register 12. */
  R12,
  /** General register 13. */
  R13,
  /** General register 14. */
  R14,
  /** General register 15. */
  R15,
  /** Instruction pointer. */
  RIP,
  /** Flags; bit 1 is always set. */
  RFLAGS
}
