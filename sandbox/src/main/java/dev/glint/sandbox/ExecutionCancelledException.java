package dev.glint.sandbox;

/**
 * A call was stopped by {@link Sandbox#interrupt()} or an {@link InterruptHandle} before it
 * finished. The guest was stopped at an arbitrary instruction, so the sandbox is poisoned until a
 * {@linkplain Sandbox#restore restore} (automatic in {@linkplain
 * Sandbox.Builder#restoreAfterEachCall restore-after-each-call mode}).
 */
public final class ExecutionCancelledException extends SandboxException {
  private static final long serialVersionUID = 1L;

  ExecutionCancelledException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public boolean poisons() {
    return true;
  }
}
