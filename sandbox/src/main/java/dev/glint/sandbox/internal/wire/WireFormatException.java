package dev.glint.sandbox.internal.wire;

/**
 * Bytes the guest wrote do not follow the wire format (ABI §7). The message says which rule broke,
 * with the offsets and values involved.
 */
public final class WireFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message naming the broken rule. */
  public WireFormatException(String message) {
    super(message);
  }
}
