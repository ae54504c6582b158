package dev.glint.sandbox.internal.wire;

import java.util.List;

/** The records the guest writes, decoded by {@link WireCodec}. */
public final class GuestRecords {
  private GuestRecords() {}

  /** A return record (kind 2): a value or an error. */
  public sealed interface Return {}

  /**
   * The guest function returned a value.
   *
   * @param value the Java value of the declared return type; null for void
   */
  public record Returned(Object value) implements Return {}

  /**
   * The guest function reported an error.
   *
   * @param code its error code, u16
   * @param message its message
   */
  public record Failed(int code, String message) implements Return {}

  /**
   * A host call record (kind 3).
   *
   * @param name the host function's name
   * @param argumentTypes the tags of the arguments, in order
   * @param arguments the Java values, in order
   */
  public record HostCall(String name, List<WireType> argumentTypes, List<Object> arguments) {
    /** Copies the lists (arguments may hold no nulls; void is never an argument). */
    public HostCall {
      argumentTypes = List.copyOf(argumentTypes);
      arguments = List.copyOf(arguments);
    }
  }

  /**
   * A log record (kind 5).
   *
   * @param level 1 error, 2 warning, 3 info, 4 debug, 5 trace
   * @param message the message
   */
  public record Log(int level, String message) {}

  /**
   * An abort record (kind 6).
   *
   * @param code the guest's abort code, signed
   * @param message the guest's message
   */
  public record Abort(int code, String message) {}
}
