package dev.glint.hv.mshv.internal;

import dev.glint.hv.HypervisorException;
import dev.glint.hv.mshv.internal.sys.Errno;
import dev.glint.hv.mshv.internal.sys.HvRegisters;

/** Builds the backend's {@link HypervisorException}s from failed system calls and hypercalls. */
final class MshvErrors {
  static final String BACKEND = "mshv";

  private MshvErrors() {}

  /**
   * {@return the exception for a failed call}
   *
   * @param operation the ioctl or C function, such as {@code MSHV_SET_GUEST_MEMORY}
   * @param errno the positive errno
   * @param detail what was being done, with the values involved
   */
  static HypervisorException failure(String operation, int errno, String detail) {
    return new HypervisorException(BACKEND, operation, errno, Errno.name(errno), detail, null);
  }

  /**
   * {@return the exception for a failed {@code MSHV_ROOT_HVCALL}}, naming the hypercall, the errno
   * and the hypervisor's status and reps completed.
   */
  static HypervisorException hypercall(
      String hypercall, int errno, HvRegisters calls, String detail) {
    return new HypervisorException(
        BACKEND,
        "MSHV_ROOT_HVCALL(" + hypercall + ")",
        errno,
        Errno.name(errno),
        "%s; status %s, %d reps completed"
            .formatted(detail, HvRegisters.statusName(calls.lastStatus()), calls.lastReps()),
        null);
  }

  /** {@return the exception for a failure no system call reported} */
  static HypervisorException fault(String operation, String detail) {
    return new HypervisorException(
        BACKEND, operation, HypervisorException.NO_ERROR_CODE, "", detail, null);
  }

  /**
   * Reports a failed release ({@code close}, {@code munmap}) at WARNING instead of throwing: the
   * resource is gone either way, and a close path must finish releasing everything else.
   *
   * @param result what the call returned: 0 or -errno
   */
  static void released(int result, String call, String what) {
    if (result < 0) {
      System.getLogger("dev.glint.hv.mshv")
          .log(
              System.Logger.Level.WARNING,
              "mshv: %s failed (%s) while releasing %s".formatted(call, Errno.name(-result), what));
    }
  }
}
