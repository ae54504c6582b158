package dev.glint.sandbox.internal.vm;

import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.RecordEncoder;
import dev.glint.sandbox.internal.wire.WireCodec;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The host functions of one sandbox, and the answer to a host call (ABI §7.4, §7.5): look the name
 * up, check the argument types, run the function, check its result, and write the host result into
 * the input buffer. Immutable once built; thread-safe if the invokers are.
 */
public final class HostFunctionTable {
  private final Map<String, HostBinding> bindings;

  /**
   * Creates the table.
   *
   * @throws IllegalArgumentException if two bindings share a name
   */
  public HostFunctionTable(List<HostBinding> bindings) {
    Map<String, HostBinding> map = new LinkedHashMap<>();
    for (HostBinding binding : bindings) {
      if (map.putIfAbsent(binding.signature().name(), binding) != null) {
        throw new IllegalArgumentException(
            "host function '%s' is declared twice".formatted(binding.signature().name()));
      }
    }
    this.bindings = Map.copyOf(map);
  }

  /** {@return the binding called {@code name}, if any} */
  public Optional<HostBinding> find(String name) {
    return Optional.ofNullable(bindings.get(name));
  }

  /**
   * Answers {@code call}: writes a host result record at {@code offset} of {@code input}.
   *
   * @param call the decoded host call
   * @param input the input buffer
   * @param offset where the result goes (8-aligned, after the current call record)
   * @return the failure reported to the guest, or empty if the function returned normally
   */
  public Optional<HostCallFailure> answer(
      GuestRecords.HostCall call, MemorySegment input, long offset) {
    HostBinding binding = bindings.get(call.name());
    if (binding == null) {
      return fail(
          input,
          offset,
          WireCodec.HOST_FUNCTION_NOT_FOUND,
          "no host function named '%s'".formatted(call.name()),
          new HostCallFailure.NotFound(call.name()));
    }
    if (!binding.signature().parameters().equals(call.argumentTypes())) {
      return fail(
          input,
          offset,
          WireCodec.ARGUMENT_TYPE_MISMATCH,
          "host function %s called with (%s)".formatted(binding.signature(), typeList(call)),
          new HostCallFailure.TypeMismatch(call.name(), binding.signature(), call.argumentTypes()));
    }
    Object result;
    try {
      result = binding.invoker().invoke(call.arguments());
    } catch (Exception | StackOverflowError e) {
      // Errors other than a stack overflow in the function (OutOfMemoryError, ...) are the JVM's
      // problem, not the guest's: let them propagate.
      return fail(
          input,
          offset,
          WireCodec.HOST_FUNCTION_FAILED,
          String.valueOf(e.getMessage() != null ? e.getMessage() : e.getClass().getName()),
          new HostCallFailure.Threw(call.name(), e));
    }
    if (!binding.signature().returnType().accepts(result)) {
      String problem =
          "host function %s returned %s"
              .formatted(
                  binding.signature(), result == null ? "null" : result.getClass().getName());
      return fail(
          input,
          offset,
          WireCodec.HOST_FUNCTION_FAILED,
          problem,
          new HostCallFailure.BadResult(call.name(), problem));
    }
    RecordEncoder record;
    try {
      record = WireCodec.encodeHostResult(binding.signature().returnType(), result);
    } catch (IllegalArgumentException e) {
      String problem =
          "host function '%s' returned a value that cannot be encoded: %s"
              .formatted(call.name(), e.getMessage());
      return fail(
          input,
          offset,
          WireCodec.HOST_FUNCTION_FAILED,
          problem,
          new HostCallFailure.BadResult(call.name(), problem));
    }
    if (record.size() > input.byteSize() - offset) {
      String problem =
          "host function '%s' returned %d bytes, but the input buffer has room for %d"
              .formatted(call.name(), record.size(), input.byteSize() - offset);
      return fail(
          input,
          offset,
          WireCodec.RESULT_TOO_LARGE,
          problem,
          new HostCallFailure.BadResult(call.name(), problem));
    }
    record.writeTo(input, offset);
    return Optional.empty();
  }

  private static Optional<HostCallFailure> fail(
      MemorySegment input, long offset, int code, String message, HostCallFailure failure) {
    RecordEncoder error = WireCodec.encodeHostError(code, message);
    if (error.size() > input.byteSize() - offset) {
      // A long message in a nearly full buffer: send the code alone.
      error = WireCodec.encodeHostError(code, "");
    }
    if (error.size() <= input.byteSize() - offset) {
      error.writeTo(input, offset);
    }
    return Optional.of(failure);
  }

  private static String typeList(GuestRecords.HostCall call) {
    return String.join(", ", call.argumentTypes().stream().map(t -> t.abiName()).toList());
  }
}
