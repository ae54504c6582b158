package dev.glint.hv.emulated.internal.fault;

/**
 * The emulator cannot go on with the guest for a reason that is not a guest exception (such as an
 * instruction fetch from an address no memory backs): the run ends with an {@code InternalError}
 * exit carrying the message. Never leaves the vCPU's run loop.
 */
public final class InternalFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates a failure saying what happened, with the values involved. */
  public InternalFailure(String message) {
    super(message, null, false, false);
  }
}
