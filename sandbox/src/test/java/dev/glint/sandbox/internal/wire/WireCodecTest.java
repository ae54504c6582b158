package dev.glint.sandbox.internal.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WireCodecTest {
  private static final int BUFFER = 2 << 20;

  static Stream<Arguments> edgeValues() {
    byte[] mib = new byte[1 << 20];
    for (int i = 0; i < mib.length; i++) {
      mib[i] = (byte) (i * 31 + 7);
    }
    return Stream.of(
        Arguments.of(WireType.I32, Integer.MIN_VALUE),
        Arguments.of(WireType.I32, Integer.MAX_VALUE),
        Arguments.of(WireType.I32, 0),
        Arguments.of(WireType.U32, -1), // 0xFFFFFFFF, the largest u32
        Arguments.of(WireType.I64, Long.MIN_VALUE),
        Arguments.of(WireType.I64, Long.MAX_VALUE),
        Arguments.of(WireType.U64, -1L),
        Arguments.of(WireType.F32, Float.intBitsToFloat(0x7FC1_2345)), // quiet NaN with payload
        Arguments.of(WireType.F32, Float.intBitsToFloat(0xFFC0_0001)), // negative NaN
        Arguments.of(WireType.F32, -0.0f),
        Arguments.of(WireType.F32, Float.MIN_VALUE),
        Arguments.of(WireType.F32, Float.NEGATIVE_INFINITY),
        Arguments.of(WireType.F64, Double.longBitsToDouble(0x7FF8_0000_DEAD_BEEFL)),
        Arguments.of(WireType.F64, Double.MAX_VALUE),
        Arguments.of(WireType.F64, -0.0),
        Arguments.of(WireType.BOOL, true),
        Arguments.of(WireType.BOOL, false),
        Arguments.of(WireType.STRING, ""),
        Arguments.of(WireType.STRING, "héllo wörld \uD83D\uDE00 \u0000 inside"),
        Arguments.of(WireType.BYTES, new byte[0]),
        Arguments.of(WireType.BYTES, mib));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("edgeValues")
  void returnRecordsRoundTrip(WireType type, Object value) {
    MemorySegment buffer = MemorySegment.ofArray(new byte[BUFFER]);
    WireCodec.encodeReturn(type, value).writeTo(buffer, 0);
    var decoded = (GuestRecords.Returned) WireCodec.decodeReturn(buffer, type);
    assertSameValue(value, decoded.value());
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("edgeValues")
  void hostCallsRoundTrip(WireType type, Object value) {
    MemorySegment buffer = MemorySegment.ofArray(new byte[BUFFER]);
    FunctionSignature f = new FunctionSignature("F", WireType.VOID, List.of(type, WireType.I32));
    WireCodec.encodeHostCall(f, List.of(value, 42)).writeTo(buffer, 0);
    GuestRecords.HostCall call = WireCodec.decodeHostCall(buffer);
    assertEquals("F", call.name());
    assertEquals(List.of(type, WireType.I32), call.argumentTypes());
    assertSameValue(value, call.arguments().get(0));
    assertEquals(42, call.arguments().get(1));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("edgeValues")
  void hostResultsRoundTrip(WireType type, Object value) {
    MemorySegment buffer = MemorySegment.ofArray(new byte[BUFFER]);
    RecordEncoder record = WireCodec.encodeHostResult(type, value);
    record.writeTo(buffer, 16);
    var decoded = (GuestRecords.Returned) WireCodec.decodeHostResult(buffer.asSlice(16), type);
    assertSameValue(value, decoded.value());
  }

  @Test
  void voidReturnRoundTrips() {
    MemorySegment buffer = MemorySegment.ofArray(new byte[64]);
    WireCodec.encodeReturn(WireType.VOID, null).writeTo(buffer, 0);
    assertEquals(new GuestRecords.Returned(null), WireCodec.decodeReturn(buffer, WireType.VOID));
    assertEquals(10, WireCodec.encodeReturn(WireType.VOID, null).size());
  }

  @Test
  void callRecordHasTheAbiLayout() {
    FunctionSignature add =
        new FunctionSignature("add", WireType.I32, List.of(WireType.I32, WireType.BOOL));
    MemorySegment buffer = MemorySegment.ofArray(new byte[64]);
    RecordEncoder record = WireCodec.encodeCall(add, List.of(0x01020304, true));
    record.writeTo(buffer, 0);
    assertEquals(8 + 2 + 3 + 1 + 5 + 2, record.size());
    assertEquals(
        "474c0101" + "0d000000" + "0300" + "616464" + "02" + "0104030201" + "0701",
        HexFormat.of().formatHex(buffer.asSlice(0, record.size()).toArray(ValueLayout.JAVA_BYTE)));
  }

  @Test
  void errorResultsRoundTrip() {
    MemorySegment buffer = MemorySegment.ofArray(new byte[256]);
    WireCodec.encodeHostError(3, "boom ✓").writeTo(buffer, 0);
    assertEquals(
        new GuestRecords.Failed(3, "boom ✓"), WireCodec.decodeHostResult(buffer, WireType.I32));
  }

  @Test
  void longErrorMessagesAreCutAtACharacterBoundary() {
    String message = "é".repeat(40_000); // 80,000 bytes
    byte[] cut = WireCodec.truncatedUtf8(message, WireCodec.MAX_MESSAGE_BYTES);
    assertEquals(WireCodec.MAX_MESSAGE_BYTES, cut.length);
    assertEquals(
        "é".repeat(WireCodec.MAX_MESSAGE_BYTES / 2),
        new String(cut, java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void decodesAFunctionTable() {
    byte[] payload = concat(le16(2), name("add"), bytes(1, 2, 1, 1), name("hello"), bytes(8, 0));
    List<FunctionSignature> table = WireCodec.decodeFunctionTable(seg(7, payload, 256));
    assertEquals(
        List.of(
            new FunctionSignature("add", WireType.I32, List.of(WireType.I32, WireType.I32)),
            new FunctionSignature("hello", WireType.STRING, List.of())),
        table);
  }

  @Test
  void decodesLogAndAbortRecords() {
    assertEquals(
        new GuestRecords.Log(3, "hi"),
        WireCodec.decodeLog(seg(5, concat(bytes(3), le32(2), ascii("hi")), 64)));
    assertEquals(
        new GuestRecords.Abort(-42, "bad"),
        WireCodec.decodeAbort(seg(6, concat(le32(-42), le32(3), ascii("bad")), 64)));
  }

  /** A malformed record: its bytes, the decoder to run, and a fragment of the message. */
  static Stream<Arguments> malformedRecords() {
    byte[] okReturn = concat(bytes(0, 1), le32(7));
    return Stream.of(
        bad("bad magic", header(0x4C48, 1, 2, 5), "header magic is 0x4c48"),
        bad("bad version", concat(header(0x4C47, 2, 2, 5), bytes(0, 1), le32(7)), "wire version 2"),
        bad("wrong kind", rec(3, okReturn, 64), "has kind 3"),
        bad("unknown kind", rec(99, okReturn, 64), "has kind 99"),
        bad(
            "length past the buffer",
            concat(header(0x4C47, 1, 2, 57), okReturn),
            "claims a payload of 57 bytes, but the buffer holds only 6 after the header"),
        bad(
            "length 0xFFFFFFF0",
            concat(header(0x4C47, 1, 2, 0xFFFFFFF0), okReturn),
            "claims a payload of 4294967280"),
        bad(
            "truncated i32",
            rec(2, bytes(0, 1, 7, 0), 64),
            "needs 4 bytes at payload offset 2, but only 2 remain"),
        bad("truncated header", new byte[5], "cannot hold a record header"),
        bad("bad status", rec(2, bytes(2, 1, 0, 0, 0, 0), 64), "status 2"),
        bad(
            "wrong return type",
            rec(2, concat(bytes(0, 3), le64(1)), 64),
            "carries a i64 value, but the function is declared to return i32"),
        bad("unknown tag", rec(2, bytes(0, 10), 64), "unknown type tag 10"),
        bad("trailing bytes", rec(2, concat(okReturn, bytes(0)), 64), "1 trailing bytes"),
        bad(
            "string length past payload",
            typed(rec(2, concat(bytes(0, 8), le32(100), ascii("abc")), 200), WireType.STRING),
            "needs 100 bytes"),
        bad(
            "string length 4 GiB",
            typed(rec(2, concat(bytes(0, 8), le32(-1)), 200), WireType.STRING),
            "length 4294967295 exceeds its limit"),
        bad(
            "ill-formed UTF-8",
            typed(rec(2, concat(bytes(0, 8), le32(2), bytes(0xC3, 0x28)), 64), WireType.STRING),
            "not well-formed UTF-8"),
        bad(
            "UTF-8 surrogate",
            typed(
                rec(2, concat(bytes(0, 8), le32(3), bytes(0xED, 0xA0, 0x80)), 64), WireType.STRING),
            "not well-formed UTF-8"),
        bad(
            "overlong UTF-8",
            typed(rec(2, concat(bytes(0, 8), le32(2), bytes(0xC0, 0xAF)), 64), WireType.STRING),
            "not well-formed UTF-8"),
        bad("bad bool byte", typed(rec(2, bytes(0, 7, 2), 64), WireType.BOOL), "bool byte 0x02"),
        bad(
            "bytes truncated",
            typed(rec(2, concat(bytes(0, 9), le32(10), bytes(1, 2)), 64), WireType.BYTES),
            "needs 10 bytes"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedRecords")
  void rejectsMalformedReturnRecords(
      String name, byte[] buffer, WireType declared, String expected) {
    WireFormatException e =
        assertThrows(
            WireFormatException.class,
            () -> WireCodec.decodeReturn(MemorySegment.ofArray(buffer), declared));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected '%s' in '%s'".formatted(expected, e.getMessage()));
  }

  static Stream<Arguments> malformedTables() {
    return Stream.of(
        Arguments.of("too many functions", concat(le16(257)), "257 functions"),
        Arguments.of("empty name", concat(le16(1), le16(0)), "length 0 must be 1..255"),
        Arguments.of(
            "name 256 bytes",
            concat(le16(1), le16(256), new byte[256], bytes(0, 0)),
            "length 256 must be 1..255"),
        Arguments.of("name with NUL", concat(le16(1), le16(2), bytes('a', 0), bytes(0, 0)), "NUL"),
        Arguments.of(
            "duplicate names",
            concat(le16(2), name("f"), bytes(0, 0), name("f"), bytes(0, 0)),
            "lists 'f' twice"),
        Arguments.of(
            "17 parameters",
            concat(le16(1), name("f"), bytes(0, 17), new byte[17]),
            "17 parameters"),
        Arguments.of(
            "void parameter",
            concat(le16(1), name("f"), bytes(0, 1, 0)),
            "parameter 0 of 'f' is void"),
        Arguments.of(
            "bad return tag", concat(le16(1), name("f"), bytes(12, 0)), "unknown type tag 12"),
        Arguments.of("truncated", concat(le16(2), name("f"), bytes(0, 0)), "truncated"),
        Arguments.of("trailing", concat(le16(1), name("f"), bytes(0, 0, 9)), "trailing"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedTables")
  void rejectsMalformedFunctionTables(String name, byte[] payload, String expected) {
    WireFormatException e =
        assertThrows(
            WireFormatException.class, () -> WireCodec.decodeFunctionTable(seg(7, payload, 4096)));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected '%s' in '%s'".formatted(expected, e.getMessage()));
  }

  @Test
  void rejectsMalformedHostCalls() {
    assertThrows(
        WireFormatException.class,
        () -> WireCodec.decodeHostCall(seg(3, concat(name("f"), bytes(17)), 64)));
    WireFormatException voidArgument =
        assertThrows(
            WireFormatException.class,
            () -> WireCodec.decodeHostCall(seg(3, concat(name("f"), bytes(1, 0)), 64)));
    assertTrue(voidArgument.getMessage().contains("argument 0 is void"));
  }

  @Test
  void rejectsBadLogLevelsAndOversizedMessages() {
    assertThrows(
        WireFormatException.class,
        () -> WireCodec.decodeLog(seg(5, concat(bytes(6), le32(0)), 64)));
    byte[] big = new byte[WireCodec.MAX_MESSAGE_BYTES + 1];
    WireFormatException e =
        assertThrows(
            WireFormatException.class,
            () -> WireCodec.decodeAbort(seg(6, concat(le32(1), le32(big.length), big), 70_000)));
    assertTrue(e.getMessage().contains("exceeds its limit of 65536"), e.getMessage());
  }

  @Test
  void encoderRefusesWrongJavaTypesAndRecordsThatDoNotFit() {
    FunctionSignature f = new FunctionSignature("f", WireType.I32, List.of(WireType.I64));
    assertThrows(IllegalArgumentException.class, () -> WireCodec.encodeCall(f, List.of(1)));
    RecordEncoder record = WireCodec.encodeCall(f, List.of(1L));
    assertThrows(
        IllegalArgumentException.class,
        () -> record.writeTo(MemorySegment.ofArray(new byte[(int) record.size() - 1]), 0));
  }

  private static void assertSameValue(Object expected, Object actual) {
    switch (expected) {
      case byte[] bytes -> assertArrayEquals(bytes, (byte[]) actual);
      case Float f ->
          assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits((Float) actual));
      case Double d ->
          assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits((Double) actual));
      default -> assertEquals(expected, actual);
    }
  }

  private static Arguments bad(String name, byte[] buffer, String message) {
    return Arguments.of(name, buffer, WireType.I32, message);
  }

  private static Arguments bad(String name, Object[] recordAndType, String message) {
    return Arguments.of(name, recordAndType[0], recordAndType[1], message);
  }

  private static Object[] typed(byte[] buffer, WireType declared) {
    return new Object[] {buffer, declared};
  }

  private static byte[] rec(int kind, byte[] payload, int bufferSize) {
    return recordBytes(kind, payload, bufferSize);
  }

  static MemorySegment seg(int kind, byte[] payload, int bufferSize) {
    return MemorySegment.ofArray(recordBytes(kind, payload, bufferSize));
  }

  private static byte[] recordBytes(int kind, byte[] payload, int bufferSize) {
    byte[] buffer = new byte[Math.max(bufferSize, 8 + payload.length)];
    byte[] head = header(0x4C47, 1, kind, payload.length);
    System.arraycopy(head, 0, buffer, 0, 8);
    System.arraycopy(payload, 0, buffer, 8, payload.length);
    return buffer;
  }

  static byte[] header(int magic, int version, int kind, int length) {
    return ByteBuffer.allocate(8)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putShort((short) magic)
        .put((byte) version)
        .put((byte) kind)
        .putInt(length)
        .array();
  }

  static byte[] name(String name) {
    return concat(le16(name.length()), ascii(name));
  }

  static byte[] ascii(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }

  static byte[] le16(int v) {
    return bytes(v, v >>> 8);
  }

  static byte[] le32(int v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
  }

  static byte[] le64(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
  }

  static byte[] concat(byte[]... parts) {
    int size = Arrays.stream(parts).mapToInt(p -> p.length).sum();
    byte[] all = new byte[size];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
