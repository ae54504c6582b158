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

  /** Closes {@code fd}, ignoring failure: for cleanup paths, where a close error has no remedy. */
  static void closeQuietly(int fd) {
    if (fd >= 0) {
      dev.glint.hv.kvm.internal.sys.Libc.close(fd);
    }
  }
}
