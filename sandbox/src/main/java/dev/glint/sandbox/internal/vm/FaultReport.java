package dev.glint.sandbox.internal.vm;

/**
 * A CPU exception in the guest, as the fault stub reported it (ABI §6).
 *
 * <p>Whether the values are known is a flag of its own, not a marker value: a guest that jumps to
 * the last byte of the address space faults with RIP and CR2 both all ones (-1), and that report
 * must not read as a triple fault.
 *
 * @param vector the exception vector, 0..31
 * @param errorCode the error code, 0 for vectors without one
 * @param rip the RIP of the faulting instruction (meaningless after a triple fault)
 * @param cs the CS of the faulting context (meaningless after a triple fault)
 * @param rsp the RSP of the faulting context (meaningless after a triple fault)
 * @param cr2 CR2, the faulting address of a #PF (meaningless after a triple fault)
 * @param undelivered whether the fault could not be delivered (the hypervisor reported shutdown),
 *     so that only the vector, 8, is known
 */
public record FaultReport(
    int vector, long errorCode, long rip, long cs, long rsp, long cr2, boolean undelivered) {

  /** A fault the stub reported, with every value known. */
  public FaultReport(int vector, long errorCode, long rip, long cs, long rsp, long cr2) {
    this(vector, errorCode, rip, cs, rsp, cr2, false);
  }

  /** {@return the report for a triple fault, which the hypervisor reports as shutdown} */
  public static FaultReport tripleFault() {
    return new FaultReport(8, 0, 0, 0, 0, 0, true);
  }
}
