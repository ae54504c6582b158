package dev.glint.sandbox;

import java.time.Duration;

/**
 * {@link SandboxPool#acquire} found every sandbox of the pool in use, the pool at its {@linkplain
 * SandboxPool.Builder#maxSize maximum size}, and none came free within the acquire timeout. No
 * sandbox is involved, so nothing is poisoned; retry later, or size the pool for the load.
 */
public final class PoolExhaustedException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #timeout()}. */
  private final Duration timeout;

  /** Serialized; see {@link #maxSize()}. */
  private final int maxSize;

  PoolExhaustedException(String message, Duration timeout, int maxSize) {
    super(message, null);
    this.timeout = timeout;
    this.maxSize = maxSize;
  }

  /** {@return how long the acquire waited} */
  public Duration timeout() {
    return timeout;
  }

  /** {@return the pool's maximum size, all of it in use} */
  public int maxSize() {
    return maxSize;
  }
}
