package dev.glint.sandbox;

/**
 * The guest broke the calling protocol (ABI §7): a malformed record, a wrong port, an {@code in},
 * an access to unbacked memory, a {@code hlt}, or an exit the hypervisor could not handle. The
 * message says which. The sandbox is poisoned.
 */
public final class ProtocolViolationException extends SandboxException {
  private static final long serialVersionUID = 1L;

  ProtocolViolationException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public boolean poisons() {
    return true;
  }
}
