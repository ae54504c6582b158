package dev.glint.sandbox.internal.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Encodes the records the host writes and decodes the records the guest writes (ABI §7). Decoding
 * treats the buffer as hostile: the header, every length and every value is checked against the
 * buffer before use, and each decode either returns a well-formed record or throws {@link
 * WireFormatException}. Stateless and thread-safe.
 */
public final class WireCodec {
  private WireCodec() {}

  /** The most functions a function table may list. */
  public static final int MAX_FUNCTIONS = 256;

  /** The longest log or abort message, in bytes. */
  public static final int MAX_MESSAGE_BYTES = 64 * 1024;

  /** Host-result error code: no host function has the name. */
  public static final int HOST_FUNCTION_NOT_FOUND = 1;

  /** Host-result error code: the arguments do not match the host function's parameters. */
  public static final int ARGUMENT_TYPE_MISMATCH = 2;

  /** Host-result error code: the host function threw. */
  public static final int HOST_FUNCTION_FAILED = 3;

  /** Host-result error code: the result does not fit in the input buffer. */
  public static final int RESULT_TOO_LARGE = 4;

  /**
   * Checks the record header at the start of {@code buffer} and returns the payload.
   *
   * @param buffer the whole guest buffer the record sits in
   * @param expected the kind this exit expects
   * @return the payload, a slice of {@code buffer}
   * @throws WireFormatException if the magic, version or kind is wrong or the length runs past the
   *     buffer
   */
  public static MemorySegment payload(MemorySegment buffer, RecordKind expected) {
    if (buffer.byteSize() < RecordEncoder.HEADER_SIZE) {
      throw new WireFormatException(
          "the buffer of %d bytes cannot hold a record header".formatted(buffer.byteSize()));
    }
    int magic = Short.toUnsignedInt(buffer.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0));
    if (magic != RecordEncoder.MAGIC) {
      throw new WireFormatException(
          "expected a %s record, but the header magic is 0x%04x, not 0x%04x (\"GL\")"
              .formatted(expected.label(), magic, RecordEncoder.MAGIC));
    }
    int version = Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, 2));
    if (version != RecordEncoder.VERSION) {
      throw new WireFormatException(
          "%s record has wire version %d; this host speaks version %d"
              .formatted(expected.label(), version, RecordEncoder.VERSION));
    }
    int kind = Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, 3));
    if (kind != expected.code()) {
      throw new WireFormatException(
          "expected a %s record (kind %d) at this exit, but the record has kind %d"
              .formatted(expected.label(), expected.code(), kind));
    }
    long length = Integer.toUnsignedLong(buffer.get(ValueLayout.JAVA_INT_UNALIGNED, 4));
    long room = buffer.byteSize() - RecordEncoder.HEADER_SIZE;
    if (length > room) {
      throw new WireFormatException(
          "%s record claims a payload of %d bytes, but the buffer holds only %d after the header"
              .formatted(expected.label(), length, room));
    }
    return buffer.asSlice(RecordEncoder.HEADER_SIZE, length);
  }

  /** {@return the function table (kind 7) at the start of {@code buffer}} */
  public static List<FunctionSignature> decodeFunctionTable(MemorySegment buffer) {
    WireReader in = new WireReader(payload(buffer, RecordKind.FUNCTION_TABLE), "function table");
    int count = in.u16("function count");
    if (count > MAX_FUNCTIONS) {
      throw new WireFormatException(
          "function table lists %d functions; at most %d are allowed"
              .formatted(count, MAX_FUNCTIONS));
    }
    List<FunctionSignature> functions = new ArrayList<>(count);
    Set<String> names = new HashSet<>();
    for (int i = 0; i < count; i++) {
      String field = "function " + i;
      String name = in.name(field + " name");
      if (!names.add(name)) {
        throw new WireFormatException(
            "function table lists '%s' twice; names must be unique".formatted(name));
      }
      WireType returnType = in.tag(field + " return type");
      int parameterCount = in.u8(field + " parameter count");
      if (parameterCount > FunctionSignature.MAX_PARAMETERS) {
        throw new WireFormatException(
            "function table: '%s' has %d parameters; at most %d are allowed"
                .formatted(name, parameterCount, FunctionSignature.MAX_PARAMETERS));
      }
      List<WireType> parameters = new ArrayList<>(parameterCount);
      for (int p = 0; p < parameterCount; p++) {
        WireType type = in.tag(field + " parameter " + p);
        if (type == WireType.VOID) {
          throw new WireFormatException(
              "function table: parameter %d of '%s' is void; parameter tags are 1..9"
                  .formatted(p, name));
        }
        parameters.add(type);
      }
      functions.add(new FunctionSignature(name, returnType, parameters));
    }
    in.expectEnd();
    return List.copyOf(functions);
  }

  /**
   * {@return an encoder holding the call record (kind 1) for {@code function}}
   *
   * @throws IllegalArgumentException if the arguments do not match the parameters
   */
  public static RecordEncoder encodeCall(FunctionSignature function, List<Object> arguments) {
    return encodeCallLike(RecordKind.CALL, function, arguments);
  }

  /**
   * {@return an encoder holding a host call record (kind 3); the host never writes one, but tests
   * do, to feed the decoder}
   */
  public static RecordEncoder encodeHostCall(FunctionSignature function, List<Object> arguments) {
    return encodeCallLike(RecordKind.HOST_CALL, function, arguments);
  }

  private static RecordEncoder encodeCallLike(
      RecordKind kind, FunctionSignature function, List<Object> arguments) {
    if (arguments.size() != function.parameters().size()) {
      throw new IllegalArgumentException(
          "%s takes %d arguments, got %d"
              .formatted(function, function.parameters().size(), arguments.size()));
    }
    RecordEncoder out = new RecordEncoder(kind).name(function.name()).u8(arguments.size());
    for (int i = 0; i < arguments.size(); i++) {
      out.taggedValue(function.parameters().get(i), arguments.get(i));
    }
    return out;
  }

  /** {@return the return record (kind 2) at the start of {@code buffer}} */
  public static GuestRecords.Return decodeReturn(MemorySegment buffer, WireType declared) {
    WireReader in = new WireReader(payload(buffer, RecordKind.RETURN), "return record");
    GuestRecords.Return result = decodeResult(in, declared, "return record");
    in.expectEnd();
    return result;
  }

  /** {@return the host result (kind 4) at the start of {@code buffer}; used by tests} */
  public static GuestRecords.Return decodeHostResult(MemorySegment buffer, WireType declared) {
    WireReader in = new WireReader(payload(buffer, RecordKind.HOST_RESULT), "host result");
    GuestRecords.Return result = decodeResult(in, declared, "host result");
    in.expectEnd();
    return result;
  }

  private static GuestRecords.Return decodeResult(WireReader in, WireType declared, String what) {
    int status = in.u8("status");
    return switch (status) {
      case 0 -> {
        WireType type = in.tag("value");
        if (type != declared) {
          throw new WireFormatException(
              "%s carries a %s value, but the function is declared to return %s"
                  .formatted(what, type, declared));
        }
        yield new GuestRecords.Returned(in.value(type, "value"));
      }
      case 1 ->
          new GuestRecords.Failed(
              in.u16("error code"), in.lengthPrefixedString("error message", MAX_MESSAGE_BYTES));
      default ->
          throw new WireFormatException(
              "%s has status %d; only 0 (ok) and 1 (error) are allowed".formatted(what, status));
    };
  }

  /** {@return the host call record (kind 3) at the start of {@code buffer}} */
  public static GuestRecords.HostCall decodeHostCall(MemorySegment buffer) {
    WireReader in = new WireReader(payload(buffer, RecordKind.HOST_CALL), "host call record");
    String name = in.name("host function name");
    int count = in.u8("argument count");
    if (count > FunctionSignature.MAX_PARAMETERS) {
      throw new WireFormatException(
          "host call to '%s' passes %d arguments; at most %d are allowed"
              .formatted(name, count, FunctionSignature.MAX_PARAMETERS));
    }
    List<WireType> types = new ArrayList<>(count);
    List<Object> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      WireType type = in.tag("argument " + i);
      if (type == WireType.VOID) {
        throw new WireFormatException(
            "host call to '%s': argument %d is void; argument tags are 1..9".formatted(name, i));
      }
      types.add(type);
      values.add(in.value(type, "argument " + i));
    }
    in.expectEnd();
    return new GuestRecords.HostCall(name, types, values);
  }

  /** {@return an encoder holding a successful host result (kind 4)} */
  public static RecordEncoder encodeHostResult(WireType type, Object value) {
    return new RecordEncoder(RecordKind.HOST_RESULT).u8(0).taggedValue(type, value);
  }

  /** {@return an encoder holding an error host result (kind 4)} */
  public static RecordEncoder encodeHostError(int code, String message) {
    return new RecordEncoder(RecordKind.HOST_RESULT)
        .u8(1)
        .u16(code)
        .lengthPrefixed(truncatedUtf8(message, MAX_MESSAGE_BYTES));
  }

  /** {@return a return record (kind 2); the host never writes one, but tests do} */
  public static RecordEncoder encodeReturn(WireType type, Object value) {
    return new RecordEncoder(RecordKind.RETURN).u8(0).taggedValue(type, value);
  }

  /** {@return the log record (kind 5) at the start of {@code buffer}} */
  public static GuestRecords.Log decodeLog(MemorySegment buffer) {
    WireReader in = new WireReader(payload(buffer, RecordKind.LOG), "log record");
    int level = in.u8("level");
    if (level < 1 || level > 5) {
      throw new WireFormatException("log record has level %d; levels are 1..5".formatted(level));
    }
    String message = in.lengthPrefixedString("message", MAX_MESSAGE_BYTES);
    in.expectEnd();
    return new GuestRecords.Log(level, message);
  }

  /** {@return the abort record (kind 6) at the start of {@code buffer}} */
  public static GuestRecords.Abort decodeAbort(MemorySegment buffer) {
    WireReader in = new WireReader(payload(buffer, RecordKind.ABORT), "abort record");
    int code = in.i32("code");
    String message = in.lengthPrefixedString("message", MAX_MESSAGE_BYTES);
    in.expectEnd();
    return new GuestRecords.Abort(code, message);
  }

  /** {@return the UTF-8 bytes of {@code text}, cut at a character boundary to at most max bytes} */
  static byte[] truncatedUtf8(String text, int max) {
    byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (bytes.length <= max) {
      return bytes;
    }
    int end = max;
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--; // do not cut inside a multi-byte sequence
    }
    return java.util.Arrays.copyOf(bytes, end);
  }
}
