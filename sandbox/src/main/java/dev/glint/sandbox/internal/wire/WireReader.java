package dev.glint.sandbox.internal.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads the values of one record payload that the guest wrote. Every read is checked against the
 * payload's end before it happens, and every length the guest claims is checked against the bytes
 * left before anything is allocated for it, so a hostile payload can cause only a {@link
 * WireFormatException}. Not thread-safe; one reader per decode.
 */
public final class WireReader {
  private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
  private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
  private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

  private final MemorySegment payload;
  private final String what;
  private long position;

  /**
   * Creates a reader over {@code payload}.
   *
   * @param payload the payload bytes (little-endian), not including the record header
   * @param what the record's name for messages, such as "return record"
   */
  public WireReader(MemorySegment payload, String what) {
    this.payload = payload;
    this.what = what;
  }

  /** {@return the offset of the next byte to read, from the payload's start} */
  public long position() {
    return position;
  }

  /** {@return the number of bytes not yet read} */
  public long remaining() {
    return payload.byteSize() - position;
  }

  private long take(long size, String field) {
    if (size > remaining()) {
      throw new WireFormatException(
          "%s truncated: %s needs %d bytes at payload offset %d, but only %d remain"
              .formatted(what, field, size, position, remaining()));
    }
    long at = position;
    position += size;
    return at;
  }

  /** {@return an unsigned byte} */
  public int u8(String field) {
    return Byte.toUnsignedInt(payload.get(ValueLayout.JAVA_BYTE, take(1, field)));
  }

  /** {@return an unsigned 16-bit value} */
  public int u16(String field) {
    return Short.toUnsignedInt(payload.get(U16, take(2, field)));
  }

  /** {@return a 32-bit value, to be read as signed or unsigned by the caller} */
  public int i32(String field) {
    return payload.get(I32, take(4, field));
  }

  /** {@return a 64-bit value} */
  public long i64(String field) {
    return payload.get(I64, take(8, field));
  }

  /** {@return {@code length} raw bytes, after checking that they are there} */
  public byte[] bytes(long length, String field) {
    long at = take(length, field);
    // take() bounded length by the payload size, which is bounded by a buffer of at most 2 GiB.
    return payload.asSlice(at, length).toArray(ValueLayout.JAVA_BYTE);
  }

  /**
   * {@return a u32 length followed by that many bytes}
   *
   * @param limit the largest length allowed, in bytes
   */
  public byte[] lengthPrefixedBytes(String field, long limit) {
    long length = Integer.toUnsignedLong(i32(field + " length"));
    if (length > limit) {
      throw new WireFormatException(
          "%s: %s length %d exceeds its limit of %d bytes".formatted(what, field, length, limit));
    }
    return bytes(length, field);
  }

  /** {@return a u32 length followed by that many bytes of well-formed UTF-8} */
  public String lengthPrefixedString(String field, long limit) {
    return utf8(lengthPrefixedBytes(field, limit), field);
  }

  /** {@return a name: u16 length 1..255, then that many bytes of UTF-8 without NUL} */
  public String name(String field) {
    int length = u16(field + " length");
    if (length < 1 || length > 255) {
      throw new WireFormatException(
          "%s: %s length %d must be 1..255 bytes".formatted(what, field, length));
    }
    byte[] bytes = bytes(length, field);
    for (byte b : bytes) {
      if (b == 0) {
        throw new WireFormatException("%s: %s contains a NUL byte".formatted(what, field));
      }
    }
    return utf8(bytes, field);
  }

  /** {@return a value of {@code type}, without its tag} */
  public Object value(WireType type, String field) {
    return switch (type) {
      case VOID -> null;
      case I32, U32 -> i32(field);
      case I64, U64 -> i64(field);
      case F32 -> Float.intBitsToFloat(i32(field));
      case F64 -> Double.longBitsToDouble(i64(field));
      case BOOL -> {
        int b = u8(field);
        if (b > 1) {
          throw new WireFormatException(
              "%s: %s is a bool byte 0x%02x; only 0 and 1 are allowed".formatted(what, field, b));
        }
        yield b == 1;
      }
      case STRING -> lengthPrefixedString(field, Integer.MAX_VALUE - 16);
      case BYTES -> lengthPrefixedBytes(field, Integer.MAX_VALUE - 16);
    };
  }

  /** {@return a tag byte, as a type} */
  public WireType tag(String field) {
    int tag = u8(field);
    if (tag > 9) {
      throw new WireFormatException(
          "%s: %s has unknown type tag %d (tags are 0..9)".formatted(what, field, tag));
    }
    return WireType.ofTag(tag);
  }

  /** Checks that the whole payload was read. */
  public void expectEnd() {
    if (remaining() != 0) {
      throw new WireFormatException(
          "%s has %d trailing bytes after its last value (payload length %d)"
              .formatted(what, remaining(), payload.byteSize()));
    }
  }

  private String utf8(byte[] bytes, String field) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new WireFormatException(
          "%s: %s is not well-formed UTF-8 (%s)".formatted(what, field, e.getMessage()));
    }
  }
}
