package dev.glint.hv.emulated.internal.fault;

/**
 * Unwinds the instruction being executed because it needs the host first: a port or MMIO read whose
 * value the host has not supplied yet. The instruction has changed nothing, so after the host
 * answers it is executed again from its start and the read consumes the answer. One preallocated
 * instance per vCPU, without a stack trace; it never leaves the vCPU's run loop.
 */
public final class ExitRequest extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the vCPU's instance. */
  public ExitRequest() {
    super(null, null, false, false);
  }
}
