package dev.glint.sandbox;

/**
 * A call's encoded arguments do not fit in the guest's input buffer (less the 16 bytes kept free
 * for host results). Thrown before the guest runs; the sandbox stays usable. Enlarge the buffer
 * with {@link Sandbox.Builder#inputBufferSize}.
 */
public final class ArgumentTooLargeException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #size()}. */
  private final long size;

  /** Serialized; see {@link #limit()}. */
  private final long limit;

  ArgumentTooLargeException(String message, long size, long limit) {
    super(message, null);
    this.size = size;
    this.limit = limit;
  }

  /** {@return the size of the encoded call, in bytes} */
  public long size() {
    return size;
  }

  /** {@return the largest encoded call the input buffer takes, in bytes (its size less 16)} */
  public long limit() {
    return limit;
  }
}
