package dev.glint.sandbox.internal.wire;

/** The kinds of record (ABI §7.2), with their codes. */
public enum RecordKind {
  CALL(1),
  RETURN(2),
  HOST_CALL(3),
  HOST_RESULT(4),
  LOG(5),
  ABORT(6),
  FUNCTION_TABLE(7);

  private final int code;

  RecordKind(int code) {
    this.code = code;
  }

  /** {@return the kind byte} */
  public int code() {
    return code;
  }

  /** {@return the lower-case name for messages, such as "host call"} */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}
