package dev.glint.hv;

import java.util.Locale;
import java.util.Objects;

/**
 * A hypervisor operation failed: the one unchecked exception type of the SPI for failures of the
 * backend or the operating system (misuse throws {@link IllegalArgumentException}, {@link
 * ClosedResourceException} or {@link MissingCapabilityException} instead).
 *
 * <p>It names the failed {@linkplain #operation() operation} (the ioctl or API call, such as {@code
 * KVM_CREATE_VM} or {@code WHvRunVirtualProcessor}), the {@linkplain #backend() backend}, and the
 * raw {@linkplain #errorCode() error code} with its {@linkplain #errorName() name} (an errno such
 * as {@code EACCES}, or an {@code HRESULT}).
 */
public class HypervisorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The error code when the failure has none (a validation failure inside the backend). */
  public static final long NO_ERROR_CODE = 0;

  private final String backend;
  private final String operation;
  private final long errorCode;
  private final String errorName;

  /**
   * Creates an exception.
   *
   * @param backend the backend's name, such as "kvm"
   * @param operation the failed call, such as "KVM_CREATE_VM"
   * @param errorCode the raw errno or HRESULT, or {@link #NO_ERROR_CODE}
   * @param errorName the symbolic name of the error code, such as "EACCES", or "" if none
   * @param detail what was being done, with the values involved
   * @param cause the underlying failure, or null
   */
  public HypervisorException(
      String backend,
      String operation,
      long errorCode,
      String errorName,
      String detail,
      Throwable cause) {
    super(format(backend, operation, errorCode, errorName, detail), cause);
    this.backend = Objects.requireNonNull(backend, "backend");
    this.operation = Objects.requireNonNull(operation, "operation");
    this.errorCode = errorCode;
    this.errorName = Objects.requireNonNull(errorName, "errorName");
  }

  /** {@return the backend's name, such as "kvm"} */
  public String backend() {
    return backend;
  }

  /** {@return the failed call, such as "KVM_SET_USER_MEMORY_REGION"} */
  public String operation() {
    return operation;
  }

  /** {@return the raw errno or HRESULT, or {@link #NO_ERROR_CODE}} */
  public long errorCode() {
    return errorCode;
  }

  /** {@return the symbolic name of the error code, such as "EEXIST", or "" if none} */
  public String errorName() {
    return errorName;
  }

  private static String format(
      String backend, String operation, long errorCode, String errorName, String detail) {
    StringBuilder message = new StringBuilder();
    message.append(backend).append(": ").append(operation).append(" failed");
    if (errorCode != NO_ERROR_CODE || !errorName.isEmpty()) {
      message.append(" (");
      if (!errorName.isEmpty()) {
        message.append(errorName).append(", ");
      }
      message.append(String.format(Locale.ENGLISH, "code %d", errorCode)).append(')');
    }
    if (detail != null && !detail.isEmpty()) {
      message.append(": ").append(detail);
    }
    return message.toString();
  }
}
