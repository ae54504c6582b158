package dev.glint.hv.kvm.internal;

import dev.glint.hv.HypervisorException;
import dev.glint.hv.kvm.internal.sys.Errno;

/** Builds the backend's {@link HypervisorException}s from failed system calls. */
final class KvmErrors {
  static final String BACKEND = "kvm";

  private KvmErrors() {}

  /**
   * {@return the exception for a failed call}
   *
   * @param operation the ioctl or C function, such as {@code KVM_SET_USER_MEMORY_REGION}
   * @param errno the positive errno
   * @param detail what was being done, with the values involved
   */
  static HypervisorException failure(String operation, int errno, String detail) {
    return new HypervisorException(BACKEND, operation, errno, Errno.name(errno), detail, null);
  }

  /**
   * {@return the exception for a failure that no system call reported}
   *
   * @param operation the ioctl or exit involved, such as {@code KVM_EXIT_DIRTY_RING_FULL}
   * @param detail what went wrong, with the values involved
   */
  static HypervisorException fault(String operation, String detail) {
    return new HypervisorException(
        BACKEND, operation, HypervisorException.NO_ERROR_CODE, "", detail, null);
  }

  /**
   * Reports a failed release ({@code close}, {@code munmap}) at WARNING instead of throwing: the
   * resource is gone either way (Linux frees an fd even when {@code close} fails), and a close path
   * must finish releasing everything else.
   *
   * @param result what the call returned: 0 or -errno
   */
  static void released(int result, String call, String what) {
    if (result < 0) {
      System.getLogger("dev.glint.hv.kvm")
          .log(
              System.Logger.Level.WARNING,
              "kvm: %s failed (%s) while releasing %s".formatted(call, Errno.name(-result), what));
    }
  }
}
