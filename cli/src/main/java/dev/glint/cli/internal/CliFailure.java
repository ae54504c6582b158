package dev.glint.cli.internal;

/**
 * A command failed in a way the user should read about, not as a stack trace: the message is
 * printed after the command's name and the command exits with {@link #exitCode()}.
 */
final class CliFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Serialized; see {@link #exitCode()}. */
  private final int exitCode;

  CliFailure(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  CliFailure(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** {@return 1 for a failure, 2 for a usage error} */
  int exitCode() {
    return exitCode;
  }
}
