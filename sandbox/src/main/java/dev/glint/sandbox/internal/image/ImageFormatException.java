package dev.glint.sandbox.internal.image;

/**
 * A guest image breaks a rule of ABI §3. The message names the rule and the values that break it;
 * the public API reports it as a {@code GuestImageException}.
 */
public final class ImageFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception whose message names the broken rule. */
  public ImageFormatException(String message) {
    super(message);
  }
}
