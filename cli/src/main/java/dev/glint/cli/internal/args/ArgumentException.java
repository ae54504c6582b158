package dev.glint.cli.internal.args;

/** An argument that does not fit the function's signature; the message says what to write. */
public final class ArgumentException extends Exception {
  private static final long serialVersionUID = 1L;

  ArgumentException(String message) {
    super(message);
  }
}
