package dev.glint.sandbox.internal.vm;

/**
 * A CPU exception in the guest, as the fault stub reported it (ABI §6).
 *
 * @param vector the exception vector, 0..31
 * @param errorCode the error code, 0 for vectors without one
 * @param rip the RIP of the faulting instruction, or -1 if unknown (triple fault)
 * @param cs the CS of the faulting context, or -1 if unknown
 * @param rsp the RSP of the faulting context, or -1 if unknown
 * @param cr2 CR2 (the faulting address of a #PF), or -1 if unknown
 */
public record FaultReport(int vector, long errorCode, long rip, long cs, long rsp, long cr2) {
  /** {@return the report for a triple fault, which the hypervisor reports as shutdown} */
  public static FaultReport tripleFault() {
    return new FaultReport(8, 0, -1, -1, -1, -1);
  }
}
