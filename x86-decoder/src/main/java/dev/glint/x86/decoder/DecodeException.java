package dev.glint.x86.decoder;

/**
 * The bytes are not an instruction the decoder accepts. {@link #reason()} says why, so that an
 * emulator can raise the fault the processor would: {@code #UD} for an invalid or unimplemented
 * encoding, {@code #GP(0)} for one longer than 15 bytes, or a page fault on the next page for a
 * truncated one.
 */
public final class DecodeException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Why decoding failed. */
  public enum Reason {
    /** The bytes end before the instruction does. */
    TRUNCATED,
    /** An encoding that is invalid, or valid but not in {@link InstructionTable}. */
    INVALID,
    /** The instruction would be longer than 15 bytes. */
    TOO_LONG
  }

  private final Reason reason;

  /**
   * Creates the exception.
   *
   * @param reason why decoding failed
   * @param message a description naming the bytes
   */
  public DecodeException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  /** {@return why decoding failed} */
  public Reason reason() {
    return reason;
  }
}
