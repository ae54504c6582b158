package dev.glint.sandbox;

/**
 * A call named a function the guest does not export. Thrown before the guest runs; the sandbox
 * stays usable.
 */
public final class GuestFunctionNotFoundException extends SandboxException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #functionName()}. */
  private final String functionName;

  GuestFunctionNotFoundException(String functionName, String message) {
    super(message, null);
    this.functionName = functionName;
  }

  /** {@return the name that was not found} */
  public String functionName() {
    return functionName;
  }
}
