package dev.glint.sandbox;

import java.time.Duration;

/**
 * A call ran longer than the sandbox's {@linkplain Sandbox.Builder#callTimeout call timeout} and
 * the guest was stopped. The guest was interrupted at an arbitrary instruction, so the sandbox is
 * poisoned.
 */
public final class CallTimeoutException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #timeout()}. */
  private final Duration timeout;

  CallTimeoutException(String message, Duration timeout, Throwable cause) {
    super(message, cause);
    this.timeout = timeout;
  }

  /** {@return the timeout the call exceeded} */
  public Duration timeout() {
    return timeout;
  }

  @Override
  public boolean poisons() {
    return true;
  }
}
