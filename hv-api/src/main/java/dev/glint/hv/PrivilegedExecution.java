package dev.glint.hv;

/**
 * How a hypervisor executes privileged (CPL-0) guest code. The sandbox uses it to choose the
 * privilege level at which guest functions run.
 */
public enum PrivilegedExecution {
  /**
   * Hardware virtualization (VMX, SVM, Microsoft Hypervisor): code runs natively at every guest
   * privilege level.
   */
  NATIVE,
  /**
   * Privileged guest code is emulated in software while user-mode (CPL-3) guest code runs natively,
   * as on a PVM host ({@code kvm_pvm}); there CPL-0 code is about 4,000 times slower than CPL-3
   * code.
   */
  EMULATED,
  /** Every guest instruction is interpreted (the emulated backend). */
  INTERPRETED
}
