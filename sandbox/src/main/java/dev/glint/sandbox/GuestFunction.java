package dev.glint.sandbox;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A function the guest exports, as its function table declares it (ABI §7.3).
 *
 * @param name the function's name
 * @param returnType its return type
 * @param parameterTypes its parameter types, in order (at most 16, never void)
 */
public record GuestFunction(
    String name, ValueType<?> returnType, List<ValueType<?>> parameterTypes) {
  /** Copies the parameter list. */
  public GuestFunction {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(returnType, "returnType");
    parameterTypes = List.copyOf(parameterTypes);
  }

  /** {@return the signature as text, such as {@code add(i32, i32) -> i32}} */
  @Override
  public String toString() {
    return parameterTypes.stream()
        .map(ValueType::abiName)
        .collect(Collectors.joining(", ", name + "(", ") -> " + returnType));
  }
}
