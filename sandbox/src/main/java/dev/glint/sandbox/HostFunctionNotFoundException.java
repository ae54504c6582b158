package dev.glint.sandbox;

/**
 * The guest called a host function the sandbox was not given. The guest received error code 1 (ABI
 * §7.5); this exception is the cause of the call's failure if the call then fails.
 */
public final class HostFunctionNotFoundException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #functionName()}. */
  private final String functionName;

  HostFunctionNotFoundException(String functionName, String message) {
    super(message, null);
    this.functionName = functionName;
  }

  /** {@return the name the guest called} */
  public String functionName() {
    return functionName;
  }
}
