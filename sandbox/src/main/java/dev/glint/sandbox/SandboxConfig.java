package dev.glint.sandbox;

import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.vm.HostBinding;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireType;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What a {@link Sandbox.Builder} collected, frozen for one build: an immutable value.
 *
 * @param guestFile the image file, or null if {@code guestBytes} is set
 * @param guestBytes the image, or null if {@code guestFile} is set
 * @param sizes the memory layout sizes
 * @param privilegeLevel the chosen level, or null for the backend's default
 * @param backend the chosen backend's name, or null for {@code Hypervisors.select()}
 * @param hostFunctions the host functions, HostPrint included
 * @param callTimeout the longest a call may run, or null for no limit
 * @param snapshot the snapshot to start from instead of a guest image, or null
 * @param restoreAfterEachCall whether every call starts from the pristine state
 */
record SandboxConfig(
    Path guestFile,
    byte[] guestBytes,
    LayoutSizes sizes,
    PrivilegeLevel privilegeLevel,
    String backend,
    List<HostBinding> hostFunctions,
    Duration callTimeout,
    Snapshot snapshot,
    boolean restoreAfterEachCall) {

  /** The name of the default print function. */
  static final String HOST_PRINT = "HostPrint";

  /** The most host functions a sandbox may have. */
  static final int MAX_HOST_FUNCTIONS = 256;

  /**
   * {@return {@code value} if it lies in {@code [min, max]} and is a multiple of {@code unit}}
   *
   * @throws IllegalArgumentException naming the setting, the value and the allowed range
   */
  static long check(String what, long value, long min, long max, long unit) {
    if (value < min || value > max || value % unit != 0) {
      throw new IllegalArgumentException(
          "%s %d is outside the allowed range: %d (%s) to %d (%s), a multiple of %d"
              .formatted(what, value, min, human(min), max, human(max), unit));
    }
    return value;
  }

  /**
   * {@return {@code timeout} if it lies in 1 ms .. 1 day}
   *
   * @throws IllegalArgumentException naming the value and the allowed range
   */
  static Duration checkTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException(
          "call timeout %s is outside the allowed range: PT0.001S (1 ms) to PT24H (1 day)"
              .formatted(timeout));
    }
    return timeout;
  }

  private static String human(long bytes) {
    if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    return (bytes >> 10) + " KiB";
  }

  /**
   * {@return this configuration for sandboxes started from {@code from}: the same host functions,
   * call timeout and restore mode; the guest, layout, level and backend are the snapshot's}
   */
  SandboxConfig startingFrom(Snapshot from) {
    Objects.requireNonNull(from, "from");
    return new SandboxConfig(
        null,
        null,
        sizes,
        null,
        from.backend(),
        hostFunctions,
        callTimeout,
        from,
        restoreAfterEachCall);
  }

  /** The builder's mutable state. Not thread-safe. */
  static final class Mutable {
    private Path guestFile;
    private byte[] guestBytes;
    long memorySize = LayoutSizes.defaults().memorySize();
    long heapSize = LayoutSizes.defaults().heapSize();
    long stackSize = LayoutSizes.defaults().stackSize();
    long inputSize = LayoutSizes.defaults().inputSize();
    long outputSize = LayoutSizes.defaults().outputSize();
    PrivilegeLevel privilegeLevel;
    String backend;
    Consumer<String> printSink;
    Duration callTimeout;
    Snapshot snapshot;
    boolean restoreAfterEachCall;

    /** Whether a size was set (a sandbox from a snapshot takes the snapshot's). */
    boolean layoutSet;

    private final Map<String, HostBinding> hostFunctions = new LinkedHashMap<>();

    void guest(Path file) {
      guestFile = file;
      guestBytes = null;
    }

    void guest(byte[] bytes) {
      guestBytes = bytes;
      guestFile = null;
    }

    void addHostFunction(
        String name,
        ValueType<?> returnType,
        List<ValueType<?>> parameterTypes,
        HostFunction function) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(returnType, "returnType");
      Objects.requireNonNull(parameterTypes, "parameterTypes");
      Objects.requireNonNull(function, "function");
      int length = name.getBytes(StandardCharsets.UTF_8).length;
      if (length < 1 || length > 255 || name.indexOf('\0') >= 0) {
        throw new IllegalArgumentException(
            "host function name '%s' must be 1 to 255 bytes of UTF-8 without NUL (it is %d bytes)"
                .formatted(name, length));
      }
      if (hostFunctions.containsKey(name)) {
        throw new IllegalArgumentException(
            "host function '%s' is already declared; each name once".formatted(name));
      }
      if (hostFunctions.size() >= MAX_HOST_FUNCTIONS) {
        throw new IllegalArgumentException(
            "at most %d host functions may be declared".formatted(MAX_HOST_FUNCTIONS));
      }
      List<WireType> parameters = new ArrayList<>();
      for (ValueType<?> type : parameterTypes) {
        parameters.add(WireType.ofTag(Objects.requireNonNull(type, "parameter type").tag()));
      }
      FunctionSignature signature =
          new FunctionSignature(name, WireType.ofTag(returnType.tag()), parameters);
      hostFunctions.put(name, new HostBinding(signature, function::call));
    }

    SandboxConfig freeze() {
      if (snapshot != null) {
        if (guestFile != null || guestBytes != null || layoutSet || privilegeLevel != null) {
          throw new IllegalStateException(
              "a sandbox from a snapshot takes its guest, memory sizes and privilege level from"
                  + " the snapshot; do not set them too");
        }
        if (backend != null && !backend.equals(snapshot.backend())) {
          throw new IllegalStateException(
              "the snapshot is of backend '%s', not '%s'".formatted(snapshot.backend(), backend));
        }
      } else if (guestFile == null && guestBytes == null) {
        throw new IllegalStateException(
            "no guest: call guest(Path), guest(byte[]) or snapshot(Snapshot) first");
      }
      List<HostBinding> functions = new ArrayList<>(hostFunctions.values());
      if (!hostFunctions.containsKey(HOST_PRINT)) {
        functions.add(hostPrint(printSink));
      }
      return new SandboxConfig(
          guestFile,
          guestBytes,
          new LayoutSizes(memorySize, heapSize, stackSize, inputSize, outputSize),
          privilegeLevel,
          backend,
          List.copyOf(functions),
          callTimeout,
          snapshot,
          restoreAfterEachCall);
    }

    /** {@return HostPrint(string) -> i32: prints the text, returns its length in UTF-8 bytes} */
    private static HostBinding hostPrint(Consumer<String> sink) {
      // System.out is read at each call, so System.setOut applies to sandboxes already built.
      Consumer<String> target =
          sink != null
              ? sink
              : text -> {
                PrintStream out = System.out;
                out.print(text);
                out.flush();
              };
      return new HostBinding(
          new FunctionSignature(HOST_PRINT, WireType.I32, List.of(WireType.STRING)),
          args -> {
            String text = (String) args.getFirst();
            target.accept(text);
            return text.getBytes(StandardCharsets.UTF_8).length;
          });
    }
  }

  @Override
  public String toString() {
    return "SandboxConfig[guest=%s, sizes=%s, privilegeLevel=%s, backend=%s, hostFunctions=%d]"
        .formatted(
            guestFile != null
                ? guestFile
                : guestBytes != null ? guestBytes.length + " bytes" : snapshot,
            sizes,
            privilegeLevel,
            backend,
            hostFunctions.size());
  }
}
