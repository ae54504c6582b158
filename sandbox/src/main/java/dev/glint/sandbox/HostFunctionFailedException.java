package dev.glint.sandbox;

/**
 * A host function the guest called threw (its exception is the cause) or returned a value it may
 * not (of the wrong type, or too large for the input buffer). The guest received an error result
 * (ABI §7.5); this exception is the cause of the call's failure if the call then fails.
 */
public final class HostFunctionFailedException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #functionName()}. */
  private final String functionName;

  HostFunctionFailedException(String functionName, String message, Throwable cause) {
    super(message, cause);
    this.functionName = functionName;
  }

  /** {@return the host function's name} */
  public String functionName() {
    return functionName;
  }
}
