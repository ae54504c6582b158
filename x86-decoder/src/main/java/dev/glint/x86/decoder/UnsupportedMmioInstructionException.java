package dev.glint.x86.decoder;

/**
 * The instruction behind a memory-mapped I/O exit is not one {@link MmioInstruction} can complete:
 * not a plain memory move, or truncated or invalid bytes. The message names the bytes.
 */
public final class UnsupportedMmioInstructionException extends Exception {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what was found, naming the bytes
   * @param cause the decoding failure, or null
   */
  public UnsupportedMmioInstructionException(String message, Throwable cause) {
    super(message, cause);
  }
}
