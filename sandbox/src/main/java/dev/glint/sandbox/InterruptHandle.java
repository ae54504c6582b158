package dev.glint.sandbox;

/**
 * Stops a sandbox's running call from any thread, without giving access to the sandbox itself; from
 * {@link Sandbox#interruptHandle()}. Thread-safe.
 */
@FunctionalInterface
public interface InterruptHandle {
  /**
   * Stops the call running now, if any: it throws {@link ExecutionCancelledException}. Does nothing
   * when no call is running; later calls are not affected.
   */
  void interrupt();
}
