package dev.glint.sandbox.internal.wire;

import java.util.List;
import java.util.Objects;

/**
 * A function's name and types, as the function table (ABI §7.3) or a host-function declaration
 * gives them.
 *
 * @param name 1..255 bytes of UTF-8
 * @param returnType the return type, possibly void
 * @param parameters the parameter types, none void, at most 16
 */
public record FunctionSignature(String name, WireType returnType, List<WireType> parameters) {
  /** The most parameters a function may have. */
  public static final int MAX_PARAMETERS = 16;

  /** Copies the parameters and checks them. */
  public FunctionSignature {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(returnType, "returnType");
    parameters = List.copyOf(parameters);
    if (parameters.size() > MAX_PARAMETERS) {
      throw new IllegalArgumentException(
          "function '%s' has %d parameters; at most %d are allowed"
              .formatted(name, parameters.size(), MAX_PARAMETERS));
    }
    if (parameters.contains(WireType.VOID)) {
      throw new IllegalArgumentException(
          "function '%s' has a void parameter; void is for return types only".formatted(name));
    }
  }

  @Override
  public String toString() {
    return parameters.stream()
        .map(WireType::abiName)
        .collect(java.util.stream.Collectors.joining(", ", name + "(", ") -> " + returnType));
  }
}
