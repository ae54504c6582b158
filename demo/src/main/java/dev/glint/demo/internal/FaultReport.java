package dev.glint.demo.internal;

import dev.glint.sandbox.GuestFaultException;
import java.util.OptionalLong;

/**
 * Renders a guest's CPU fault as the JSON body of a 500 response: what the CPU reported, so that a
 * caller sees the guest crashed, where and how, while the server goes on serving.
 */
final class FaultReport {
  private FaultReport() {}

  /** {@return the fault as a JSON object, on one line} */
  static String json(String function, GuestFaultException fault) {
    return "{"
        + field("error", "guest fault")
        + ","
        + field("function", function)
        + ",\"vector\":"
        + fault.vector()
        + ","
        + field("vectorName", fault.vectorName())
        + ",\"errorCode\":"
        + fault.errorCode()
        + ","
        + field("faultAddress", hex(fault.faultAddress()))
        + ","
        + field("rip", hex(fault.rip()))
        + ",\"cpl\":"
        + fault.cpl()
        + ","
        + field("message", fault.getMessage())
        + ","
        + field("sandbox", "replaced; the server keeps serving")
        + "}\n";
  }

  private static String hex(OptionalLong value) {
    return value.isPresent() ? "0x" + Long.toHexString(value.getAsLong()) : null;
  }

  private static String field(String name, String value) {
    return quote(name) + ":" + (value == null ? "null" : quote(value));
  }

  /** {@return {@code text} as a JSON string literal} */
  static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
