package dev.glint.sandbox.internal.snapshot;

import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireCodec;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The rules a snapshot's values follow, shared by {@link SnapshotContents} (which refuses to hold a
 * value a reader would refuse) and the reader (which refuses a file holding one). Each check
 * returns a description of the problem, or null when there is none, so that each caller wraps it in
 * its own exception.
 */
final class SnapshotRules {
  private SnapshotRules() {}

  // The ranges of Sandbox.Builder: a plan outside them cannot come from a sandbox. They also keep
  // every sum MemoryPlan.of computes far from overflow, which it does not check itself.
  static final long MIN_MEMORY_SIZE = 4L << 20;
  static final long MAX_MEMORY_SIZE = 16L << 30;
  static final long MIN_HEAP_SIZE = 4L << 10;
  static final long MAX_HEAP_SIZE = 1L << 30;
  static final long MIN_STACK_SIZE = 16L << 10;
  static final long MAX_STACK_SIZE = 256L << 20;
  static final long MIN_BUFFER_SIZE = 4L << 10;
  static final long MAX_BUFFER_SIZE = 1L << 30;

  /** The longest backend name, in bytes. */
  static final int MAX_BACKEND_LENGTH = 64;

  /** The longest function name, in UTF-8 bytes (ABI §7.3). */
  static final int MAX_NAME_LENGTH = 255;

  /** The names of {@link MemoryPlan}'s components, in order. */
  static final List<String> PLAN_FIELDS =
      List.of(
          "memorySize",
          "imageEnd",
          "heapAddress",
          "heapSize",
          "inputAddress",
          "inputSize",
          "outputAddress",
          "outputSize",
          "guardPageAddress",
          "stackAddress",
          "stackSize");

  /** {@return the problem with a backend name's bytes, or null}: 1..64 printable ASCII bytes */
  static String backendProblem(byte[] name) {
    if (name.length < 1 || name.length > MAX_BACKEND_LENGTH) {
      return "backend name length %d must be 1..%d".formatted(name.length, MAX_BACKEND_LENGTH);
    }
    for (int i = 0; i < name.length; i++) {
      if (name[i] < 0x20 || name[i] > 0x7E) {
        return "backend name byte %d is 0x%02x; a backend name is printable ASCII (0x20..0x7e)"
            .formatted(i, name[i] & 0xFF);
      }
    }
    return null;
  }

  /** {@return the problem with the bytes of a function name, or null} */
  static String nameBytesProblem(byte[] name) {
    if (name.length < 1 || name.length > MAX_NAME_LENGTH) {
      return "name length %d must be 1..%d bytes".formatted(name.length, MAX_NAME_LENGTH);
    }
    for (int i = 0; i < name.length; i++) {
      if (name[i] == 0) {
        return "name contains a NUL byte at name offset %d".formatted(i);
      }
    }
    try {
      decoder(name);
    } catch (CharacterCodingException e) {
      return "name is not well-formed UTF-8";
    }
    return null;
  }

  /** {@return the name decoded from well-formed UTF-8} */
  static String decoder(byte[] name) throws CharacterCodingException {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(name))
        .toString();
  }

  /**
   * {@return the UTF-8 bytes of {@code name}}
   *
   * @throws IllegalArgumentException if it has an unpaired surrogate ({@code getBytes} would
   *     silently write '?' for it, and the name read back would differ)
   */
  static byte[] encodeName(String name) {
    try {
      ByteBuffer bytes =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(name));
      byte[] out = new byte[bytes.remaining()];
      bytes.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          "function name '%s' has an unpaired surrogate; it has no UTF-8 form".formatted(name));
    }
  }

  /** {@return the problem with a function list, or null}: at most 256, names valid and unique */
  static String functionsProblem(List<FunctionSignature> functions) {
    if (functions.size() > WireCodec.MAX_FUNCTIONS) {
      return "%d functions; at most %d are allowed"
          .formatted(functions.size(), WireCodec.MAX_FUNCTIONS);
    }
    Set<String> names = new HashSet<>();
    for (FunctionSignature function : functions) {
      String problem = nameBytesProblem(encodeName(function.name()));
      if (problem != null) {
        return "function '%s': %s".formatted(function.name(), problem);
      }
      if (!names.add(function.name())) {
        return "function '%s' is listed twice; names are unique".formatted(function.name());
      }
    }
    return null;
  }

  /** {@return the problem with a CPL, or null} */
  static String cplProblem(long cpl) {
    return cpl == 0 || cpl == 3 ? null : "cpl %d must be 0 or 3".formatted(cpl);
  }

  /**
   * {@return the problem with a plan, or null}: each size in the builder's range, the image end
   * page-aligned inside memory, and the plan exactly the one {@link MemoryPlan#of} makes of them
   */
  static String planProblem(long[] fields) {
    long memorySize = fields[0];
    long imageEnd = fields[1];
    long heapSize = fields[3];
    long inputSize = fields[5];
    long outputSize = fields[7];
    long stackSize = fields[10];
    if (memorySize % MemoryPlan.MEMORY_GRANULE != 0) {
      return "memory size %d is not a multiple of 2 MiB".formatted(memorySize);
    }
    String problem =
        firstOf(
            range("memory size", memorySize, MIN_MEMORY_SIZE, MAX_MEMORY_SIZE, "4 MiB..16 GiB"),
            range("heap size", heapSize, MIN_HEAP_SIZE, MAX_HEAP_SIZE, "4 KiB..1 GiB"),
            range("input buffer size", inputSize, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE, "4 KiB..1 GiB"),
            range(
                "output buffer size", outputSize, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE, "4 KiB..1 GiB"),
            range("stack size", stackSize, MIN_STACK_SIZE, MAX_STACK_SIZE, "16 KiB..256 MiB"));
    if (problem != null) {
      return problem;
    }
    if (imageEnd < MemoryPlan.IMAGE_BASE
        || imageEnd > memorySize
        || imageEnd % MemoryPlan.PAGE != 0) {
      return "image end 0x%x must be a page-aligned address in [0x%x, memory size 0x%x]"
          .formatted(imageEnd, MemoryPlan.IMAGE_BASE, memorySize);
    }
    MemoryPlan expected;
    try {
      expected =
          MemoryPlan.of(
              new LayoutSizes(memorySize, heapSize, stackSize, inputSize, outputSize), imageEnd);
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    long[] want = planFields(expected);
    for (int i = 0; i < want.length; i++) {
      if (fields[i] != want[i]) {
        return "memory plan field %s is 0x%x, but its sizes and image end give 0x%x (plan mismatch)"
            .formatted(PLAN_FIELDS.get(i), fields[i], want[i]);
      }
    }
    return null;
  }

  /** {@return the plan's components, in order} */
  static long[] planFields(MemoryPlan plan) {
    return new long[] {
      plan.memorySize(),
      plan.imageEnd(),
      plan.heapAddress(),
      plan.heapSize(),
      plan.inputAddress(),
      plan.inputSize(),
      plan.outputAddress(),
      plan.outputSize(),
      plan.guardPageAddress(),
      plan.stackAddress(),
      plan.stackSize()
    };
  }

  private static String range(String what, long value, long min, long max, String allowed) {
    if (value < min || value > max) {
      return "%s %d is outside the Sandbox builder's range %s".formatted(what, value, allowed);
    }
    if (value % MemoryPlan.PAGE != 0) {
      return "%s %d is not a multiple of 4 KiB".formatted(what, value);
    }
    return null;
  }

  private static String firstOf(String... problems) {
    for (String problem : problems) {
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }
}
