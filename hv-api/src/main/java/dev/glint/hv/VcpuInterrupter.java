package dev.glint.hv;

/**
 * Stops a {@link Vcpu}'s {@link Vcpu#run()} from another thread: the handle returned by {@link
 * Vcpu#interrupter()}.
 *
 * <p><b>Thread safety:</b> safe to call from any thread, at any time, any number of times, even
 * after the vCPU was closed (then it does nothing).
 */
public interface VcpuInterrupter {
  /**
   * Makes the current or the next {@link Vcpu#run()} return {@link VcpuExit.Cancelled} promptly. An
   * interrupt requested while no run is in progress is kept, and consumed by the next run, which
   * returns {@code Cancelled} at once without entering the guest. The guest state is consistent
   * afterwards: a later run continues where the guest stopped.
   *
   * @throws MissingCapabilityException if the backend lacks {@link Capability#CANCEL}
   */
  void interrupt();
}
