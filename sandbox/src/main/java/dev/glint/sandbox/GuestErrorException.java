package dev.glint.sandbox;

/**
 * The guest function returned an error (ABI §7.5 status 1) with a code and a message. The guest
 * ended the call in an orderly way, so the sandbox stays usable.
 *
 * <p>If the guest had made host calls that failed during the call, the first such failure is the
 * cause (a {@link HostFunctionNotFoundException}, {@link TypeMismatchException} or {@link
 * HostFunctionFailedException}).
 */
public final class GuestErrorException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #code()}. */
  private final int code;

  /** Serialized; see {@link #guestMessage()}. */
  private final String guestMessage;

  GuestErrorException(String message, int code, String guestMessage, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.guestMessage = guestMessage;
  }

  /** {@return the guest's error code, 0..65535} */
  public int code() {
    return code;
  }

  /** {@return the guest's message, as it wrote it} */
  public String guestMessage() {
    return guestMessage;
  }
}
