package dev.glint.sandbox;

/**
 * Types do not match a declaration: the arguments or the expected return type of a call do not
 * match the guest function's signature (thrown before the guest runs; the sandbox stays usable), or
 * the guest called a host function with arguments of the wrong types (the guest got an error
 * result; this is then the cause of the call's failure).
 */
public final class TypeMismatchException extends SandboxException {
  private static final long serialVersionUID = 1L;

  TypeMismatchException(String message) {
    super(message, null);
  }
}
