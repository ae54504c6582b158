package dev.glint.sandbox.internal.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes one record the host writes (a call or a host result) in two steps: first the values are
 * added and the exact {@linkplain #size() size} is known, then the record is {@linkplain #writeTo
 * written} into a guest buffer. So a record that does not fit is refused before any guest byte
 * changes, and large strings and byte arrays are copied once. Not thread-safe.
 */
public final class RecordEncoder {
  /** The size of the record header, in bytes. */
  public static final int HEADER_SIZE = 8;

  /** The header magic, "GL" as little-endian bytes. */
  public static final int MAGIC = 0x4C47;

  /** The wire format version. */
  public static final int VERSION = 1;

  private sealed interface Part {}

  private record Fixed(long value, int width) implements Part {}

  private record Raw(byte[] bytes) implements Part {}

  private final RecordKind kind;
  private final List<Part> parts = new ArrayList<>();
  private long payloadSize;

  /** Starts a record of {@code kind}. */
  public RecordEncoder(RecordKind kind) {
    this.kind = kind;
  }

  private RecordEncoder fixed(long value, int width) {
    parts.add(new Fixed(value, width));
    payloadSize += width;
    return this;
  }

  /** Adds an unsigned byte. */
  public RecordEncoder u8(int value) {
    return fixed(value, 1);
  }

  /** Adds a 16-bit value. */
  public RecordEncoder u16(int value) {
    return fixed(value, 2);
  }

  /** Adds a 32-bit value. */
  public RecordEncoder i32(int value) {
    return fixed(value, 4);
  }

  /** Adds a 64-bit value. */
  public RecordEncoder i64(long value) {
    return fixed(value, 8);
  }

  /** Adds a u32 length and the bytes. */
  public RecordEncoder lengthPrefixed(byte[] bytes) {
    i32(bytes.length);
    parts.add(new Raw(bytes));
    payloadSize += bytes.length;
    return this;
  }

  /**
   * Adds a name: u16 length and UTF-8 bytes.
   *
   * @throws IllegalArgumentException if it is not 1..255 bytes of UTF-8 or contains NUL
   */
  public RecordEncoder name(String name) {
    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
    if (bytes.length < 1 || bytes.length > 255 || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(
          "name '%s' must be 1..255 bytes of UTF-8 without NUL (it is %d bytes)"
              .formatted(name, bytes.length));
    }
    u16(bytes.length);
    parts.add(new Raw(bytes));
    payloadSize += bytes.length;
    return this;
  }

  /**
   * Adds a value without its tag.
   *
   * @throws IllegalArgumentException if {@code value} is not a Java value of {@code type}
   */
  public RecordEncoder value(WireType type, Object value) {
    if (!type.accepts(value)) {
      throw new IllegalArgumentException(
          "%s is not a %s value (expected %s)"
              .formatted(describe(value), type, type.javaClass().getSimpleName()));
    }
    return switch (type) {
      case VOID -> this;
      case I32, U32 -> i32((Integer) value);
      case I64, U64 -> i64((Long) value);
      case F32 -> i32(Float.floatToRawIntBits((Float) value));
      case F64 -> i64(Double.doubleToRawLongBits((Double) value));
      case BOOL -> u8((Boolean) value ? 1 : 0);
      case STRING -> lengthPrefixed(utf8((String) value));
      case BYTES -> lengthPrefixed((byte[]) value);
    };
  }

  /**
   * {@return the UTF-8 bytes of {@code text}}
   *
   * @throws IllegalArgumentException if it holds an unpaired surrogate, which has no UTF-8 form
   *     ({@link String#getBytes} would silently write '?' instead)
   */
  static byte[] utf8(String text) {
    try {
      ByteBuffer bytes =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(text));
      byte[] array = new byte[bytes.remaining()];
      bytes.get(array);
      return array;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          "a string of %d chars holds an unpaired surrogate and cannot be encoded as UTF-8"
              .formatted(text.length()),
          e);
    }
  }

  /** Adds a tag byte and the value. */
  public RecordEncoder taggedValue(WireType type, Object value) {
    u8(type.tag());
    return value(type, value);
  }

  /** {@return the record's size in bytes, header included} */
  public long size() {
    return HEADER_SIZE + payloadSize;
  }

  /**
   * Writes the record at {@code offset} of {@code buffer}.
   *
   * @throws IllegalArgumentException if it does not fit (check {@link #size()} first)
   */
  public void writeTo(MemorySegment buffer, long offset) {
    if (offset < 0 || size() > buffer.byteSize() - offset) {
      throw new IllegalArgumentException(
          "a %s record of %d bytes does not fit at offset %d of a %d-byte buffer"
              .formatted(kind.label(), size(), offset, buffer.byteSize()));
    }
    if (payloadSize > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("payload of %d bytes exceeds u32".formatted(payloadSize));
    }
    long at = offset;
    buffer.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) MAGIC);
    buffer.set(ValueLayout.JAVA_BYTE, at + 2, (byte) VERSION);
    buffer.set(ValueLayout.JAVA_BYTE, at + 3, (byte) kind.code());
    buffer.set(ValueLayout.JAVA_INT_UNALIGNED, at + 4, (int) payloadSize);
    at += HEADER_SIZE;
    for (Part part : parts) {
      switch (part) {
        case Fixed(long value, int width) -> {
          switch (width) {
            case 1 -> buffer.set(ValueLayout.JAVA_BYTE, at, (byte) value);
            case 2 -> buffer.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) value);
            case 4 -> buffer.set(ValueLayout.JAVA_INT_UNALIGNED, at, (int) value);
            default -> buffer.set(ValueLayout.JAVA_LONG_UNALIGNED, at, value);
          }
          at += width;
        }
        case Raw(byte[] bytes) -> {
          MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, at, bytes.length);
          at += bytes.length;
        }
      }
    }
  }

  /** {@return a short description of a Java value's type for messages} */
  static String describe(Object value) {
    return value == null ? "null" : value.getClass().getSimpleName();
  }
}
