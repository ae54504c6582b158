package dev.glint.cli.internal.args;

import dev.glint.sandbox.ValueType;
import java.util.HexFormat;

/** Prints a guest function's result as a shell user reads it. */
public final class Results {
  private Results() {}

  /**
   * {@return {@code value} as text: unsigned types unsigned, bytes as lowercase hex, void as the
   * empty string}
   *
   * @param type the function's return type
   * @param value the result, of the type's Java type
   */
  public static String text(ValueType<?> type, Object value) {
    if (type == ValueType.VOID) {
      return "";
    } else if (type == ValueType.U32) {
      return Integer.toUnsignedString((Integer) value);
    } else if (type == ValueType.U64) {
      return Long.toUnsignedString((Long) value);
    } else if (type == ValueType.BYTES) {
      return HexFormat.of().formatHex((byte[]) value);
    }
    return String.valueOf(value);
  }
}
