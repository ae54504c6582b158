package dev.glint.sandbox;

/**
 * The guest aborted (ABI §7.7) with a code and a message. The sandbox is poisoned.
 *
 * <p>If the guest had made host calls that failed before it aborted, the first such failure is the
 * cause.
 */
public final class GuestAbortedException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #code()}. */
  private final int code;

  /** Serialized; see {@link #guestMessage()}. */
  private final String guestMessage;

  GuestAbortedException(String message, int code, String guestMessage, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.guestMessage = guestMessage;
  }

  /** {@return the guest's abort code} */
  public int code() {
    return code;
  }

  /** {@return the guest's message, as it wrote it} */
  public String guestMessage() {
    return guestMessage;
  }

  @Override
  public boolean poisons() {
    return true;
  }
}
