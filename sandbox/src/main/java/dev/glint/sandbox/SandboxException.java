package dev.glint.sandbox;

/**
 * A sandbox operation failed because of the guest or its use: the one unchecked exception type of
 * the sandbox, sealed so that a {@code switch} over it is exhaustive. Misuse of the Java API throws
 * the usual {@link IllegalArgumentException} or {@link IllegalStateException} instead, and failures
 * of the hypervisor itself throw {@link dev.glint.hv.HypervisorException}.
 *
 * <p>Failures that leave the guest in an unknown state ({@link GuestFaultException}, {@link
 * GuestAbortedException}, {@link ProtocolViolationException}, {@link CallTimeoutException}, {@link
 * ExecutionCancelledException}) poison the sandbox: every later call throws {@link
 * SandboxPoisonedException} until the sandbox is {@linkplain Sandbox#restore restored}. The others
 * ({@link GuestFunctionNotFoundException}, {@link TypeMismatchException}, {@link
 * ArgumentTooLargeException}, {@link GuestErrorException}) leave it usable.
 *
 * <p>{@link PoolExhaustedException} concerns no sandbox: a {@link SandboxPool} had none free within
 * the acquire timeout.
 */
public abstract sealed class SandboxException extends RuntimeException
    permits ArgumentTooLargeException,
        CallTimeoutException,
        ExecutionCancelledException,
        GuestAbortedException,
        GuestErrorException,
        GuestFaultException,
        GuestFunctionNotFoundException,
        GuestImageException,
        HostFunctionFailedException,
        HostFunctionNotFoundException,
        PoolExhaustedException,
        ProtocolViolationException,
        SandboxPoisonedException,
        TypeMismatchException {
  private static final long serialVersionUID = 1L;

  SandboxException(String message, Throwable cause) {
    super(message, cause);
  }

  /** {@return whether this failure poisons the sandbox it happened in} */
  public boolean poisons() {
    return false;
  }
}
