package dev.glint.differential;

import dev.glint.hv.Registers;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One differential case: the code, the start state, and which flags are compared at the end. An
 * immutable value; the code array is copied in and out.
 *
 * <p>The start state is fully determined by {@link #registers()}, {@link #dataSeed()} (the user
 * data, stack and read-only pages and the XMM registers are drawn from it) and the fixed layout, so
 * {@link #toLine()} is a complete reproduction that {@link #parse} reads back, for regression
 * files.
 *
 * @param name how the case is known: "seed 0x2a case 17" for a generated one, or a regression name
 * @param code the instructions at the user code address, ending in {@code out 0x1f, al}
 * @param registers the start registers (RIP at the code, RSP in the stack page)
 * @param dataSeed the seed of the data pages and XMM registers
 * @param sse whether the code loads XMM0..15 and MXCSR from the XMM area first and stores them back
 *     last (then they are compared when the case finishes)
 * @param comparedFlags the RFLAGS bits compared at the end: the status flags and DF, less those the
 *     executed instructions leave undefined
 * @param mnemonics the instructions generated, in order (informational; empty when parsed)
 */
public record TestCase(
    String name,
    byte[] code,
    Registers registers,
    long dataSeed,
    boolean sse,
    long comparedFlags,
    List<String> mnemonics) {

  /** Copies and checks. */
  public TestCase {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(registers, "registers");
    if (code.length == 0 || code.length > 4096) {
      throw new IllegalArgumentException("code of %d bytes: 1 to 4096".formatted(code.length));
    }
    if (name.isBlank() || name.contains("|")) {
      throw new IllegalArgumentException("name must be non-blank without '|': " + name);
    }
    code = code.clone();
    mnemonics = List.copyOf(mnemonics);
  }

  @Override
  public byte[] code() {
    return code.clone();
  }

  /** {@return the code in hex, bytes separated by spaces} */
  public String codeHex() {
    return HexFormat.ofDelimiter(" ").formatHex(code);
  }

  private static final String[] REGISTER_NAMES = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip", "rflags"
  };

  /**
   * {@return the case as one line}: {@code name | code=... | rax=... ... | data=... | sse=... |
   * flags=...}
   */
  public String toLine() {
    StringBuilder line = new StringBuilder(name);
    line.append(" | code=").append(HexFormat.of().formatHex(code)).append(" |");
    long[] values = registers.toArray();
    for (int i = 0; i < values.length; i++) {
      line.append(' ').append(REGISTER_NAMES[i]).append("=0x").append(Long.toHexString(values[i]));
    }
    line.append(" | data=0x").append(Long.toHexString(dataSeed));
    line.append(" | sse=").append(sse);
    line.append(" | flags=0x").append(Long.toHexString(comparedFlags));
    return line.toString();
  }

  /**
   * {@return the case {@link #toLine()} wrote}
   *
   * @throws IllegalArgumentException if the line is not in that form
   */
  public static TestCase parse(String line) {
    String[] parts = line.split("\\|");
    if (parts.length != 6) {
      throw new IllegalArgumentException("expected 6 '|'-separated fields: " + line);
    }
    Map<String, String> fields = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      for (String item : parts[i].strip().split("\\s+")) {
        int eq = item.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException(
              "expected key=value, got '%s' in %s".formatted(item, line));
        }
        fields.put(item.substring(0, eq), item.substring(eq + 1));
      }
    }
    long[] values = new long[REGISTER_NAMES.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = number(fields, REGISTER_NAMES[i], line);
    }
    String code = fields.get("code");
    if (code == null) {
      throw new IllegalArgumentException("no code= in " + line);
    }
    return new TestCase(
        parts[0].strip(),
        HexFormat.of().parseHex(code),
        Registers.fromArray(values),
        number(fields, "data", line),
        Boolean.parseBoolean(fields.getOrDefault("sse", "false")),
        number(fields, "flags", line),
        List.of());
  }

  private static long number(Map<String, String> fields, String key, String line) {
    String value = fields.get(key);
    if (value == null || !value.startsWith("0x")) {
      throw new IllegalArgumentException("no %s=0x... in %s".formatted(key, line));
    }
    return Long.parseUnsignedLong(value.substring(2), 16);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TestCase t
        && name.equals(t.name)
        && Arrays.equals(code, t.code)
        && registers.equals(t.registers)
        && dataSeed == t.dataSeed
        && sse == t.sse
        && comparedFlags == t.comparedFlags;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, Arrays.hashCode(code), registers, dataSeed, sse, comparedFlags);
  }

  @Override
  public String toString() {
    return toLine();
  }
}
