package dev.glint.sandbox.internal.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.glint.sandbox.testing.Bounded;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.List;

/**
 * Fuzzes the decoders of guest-written records (ABI §7). Contract: for any bytes, a decode either
 * returns a record or throws {@link WireFormatException}, never another exception, within {@link
 * Bounded#LIMIT}; and a record it returns is exactly what the bytes say: encoding it again gives
 * the same bytes (the encoding is canonical, so nothing the guest wrote was misread or silently
 * repaired).
 *
 * <p>Input: byte 0 picks the decoder, byte 1 the declared type (for return records and host
 * results), the rest is the guest buffer. The corpus is in {@code
 * src/test/resources/dev/glint/sandbox/internal/wire/WireDecoderFuzzTestInputs/decode}; {@code
 * bin/glint-fuzz wire} fuzzes for real.
 */
class WireDecoderFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void decode(byte[] data) throws Exception {
    Bounded.run(() -> decodeOnce(data));
  }

  private static void decodeOnce(byte[] data) {
    if (data.length < 2) {
      return;
    }
    int decoder = Byte.toUnsignedInt(data[0]) % 6;
    WireType declared = WireType.ofTag(Byte.toUnsignedInt(data[1]) % 10);
    byte[] bytes = java.util.Arrays.copyOfRange(data, 2, data.length);
    MemorySegment buffer = MemorySegment.ofArray(bytes);
    RecordEncoder again;
    try {
      again =
          switch (decoder) {
            case 0 -> functionTable(WireCodec.decodeFunctionTable(buffer));
            case 1 -> result(RecordKind.RETURN, declared, WireCodec.decodeReturn(buffer, declared));
            case 2 ->
                result(
                    RecordKind.HOST_RESULT, declared, WireCodec.decodeHostResult(buffer, declared));
            case 3 -> hostCall(WireCodec.decodeHostCall(buffer));
            case 4 -> {
              GuestRecords.Log log = WireCodec.decodeLog(buffer);
              assertTrue(log.level() >= 1 && log.level() <= 5, "level " + log.level());
              yield new RecordEncoder(RecordKind.LOG)
                  .u8(log.level())
                  .lengthPrefixed(RecordEncoder.utf8(log.message()));
            }
            default -> {
              GuestRecords.Abort abort = WireCodec.decodeAbort(buffer);
              yield new RecordEncoder(RecordKind.ABORT)
                  .i32(abort.code())
                  .lengthPrefixed(RecordEncoder.utf8(abort.message()));
            }
          };
    } catch (WireFormatException expected) {
      return;
    }
    byte[] encoded = new byte[Math.toIntExact(again.size())];
    again.writeTo(MemorySegment.ofArray(encoded), 0);
    assertTrue(encoded.length <= bytes.length, "the decoded record is longer than the buffer");
    assertArrayEquals(
        java.util.Arrays.copyOf(bytes, encoded.length),
        encoded,
        "decoding and encoding again must give the guest's bytes back");
  }

  private static RecordEncoder functionTable(List<FunctionSignature> functions) {
    assertTrue(functions.size() <= WireCodec.MAX_FUNCTIONS, "too many functions");
    assertTrue(
        new HashSet<>(functions.stream().map(FunctionSignature::name).toList()).size()
            == functions.size(),
        "names must be unique");
    RecordEncoder out = new RecordEncoder(RecordKind.FUNCTION_TABLE).u16(functions.size());
    for (FunctionSignature f : functions) {
      out.name(f.name()).u8(f.returnType().tag()).u8(f.parameters().size());
      f.parameters().forEach(p -> out.u8(p.tag()));
    }
    return out;
  }

  private static RecordEncoder result(
      RecordKind kind, WireType declared, GuestRecords.Return decoded) {
    RecordEncoder out = new RecordEncoder(kind);
    return switch (decoded) {
      case GuestRecords.Returned(Object value) -> out.u8(0).taggedValue(declared, value);
      case GuestRecords.Failed(int code, String message) -> {
        assertTrue(code >= 0 && code <= 0xFFFF, "code " + code);
        yield out.u8(1).u16(code).lengthPrefixed(RecordEncoder.utf8(message));
      }
    };
  }

  private static RecordEncoder hostCall(GuestRecords.HostCall call) {
    assertTrue(call.arguments().size() <= FunctionSignature.MAX_PARAMETERS, "too many arguments");
    RecordEncoder out =
        new RecordEncoder(RecordKind.HOST_CALL).name(call.name()).u8(call.arguments().size());
    for (int i = 0; i < call.arguments().size(); i++) {
      out.taggedValue(call.argumentTypes().get(i), call.arguments().get(i));
    }
    return out;
  }

  /**
   * Writes the seed corpus: one valid record of each kind and type, which the fuzzer then mutates.
   * Run once and committed; run again (with the test class path) after a wire format change.
   *
   * @param args the corpus directory
   */
  public static void main(String[] args) throws java.io.IOException {
    java.nio.file.Path dir = java.nio.file.Path.of(args[0]);
    java.nio.file.Files.createDirectories(dir);
    List<FunctionSignature> functions =
        List.of(
            new FunctionSignature("Add", WireType.I32, List.of(WireType.I32, WireType.I32)),
            new FunctionSignature("Hash", WireType.BYTES, List.of(WireType.BYTES)),
            new FunctionSignature("Ping", WireType.VOID, List.of()),
            new FunctionSignature("Näme", WireType.STRING, List.of(WireType.U64, WireType.BOOL)));
    seed(dir, "function-table", 0, WireType.VOID, functionTable(functions));
    for (WireType type : WireType.values()) {
      Object value = sample(type);
      seed(dir, "return-" + type.abiName(), 1, type, WireCodec.encodeReturn(type, value));
      seed(dir, "host-result-" + type.abiName(), 2, type, WireCodec.encodeHostResult(type, value));
    }
    seed(
        dir,
        "return-error",
        1,
        WireType.I32,
        new RecordEncoder(RecordKind.RETURN)
            .u8(1)
            .u16(3)
            .lengthPrefixed(RecordEncoder.utf8("it failed")));
    seed(dir, "host-result-error", 2, WireType.I32, WireCodec.encodeHostError(3, "boom"));
    List<WireType> every = java.util.Arrays.stream(WireType.values()).skip(1).toList();
    seed(
        dir,
        "host-call-every-type",
        3,
        WireType.VOID,
        WireCodec.encodeHostCall(
            new FunctionSignature("HostEvery", WireType.VOID, every),
            every.stream().map(WireDecoderFuzzTest::sample).toList()));
    seed(
        dir,
        "log",
        4,
        WireType.VOID,
        new RecordEncoder(RecordKind.LOG).u8(3).lengthPrefixed(RecordEncoder.utf8("hello ☃")));
    seed(
        dir,
        "abort",
        5,
        WireType.VOID,
        new RecordEncoder(RecordKind.ABORT).i32(-2).lengthPrefixed(RecordEncoder.utf8("bad")));
  }

  static Object sample(WireType type) {
    return switch (type) {
      case VOID -> null;
      case I32, U32 -> -123456;
      case I64, U64 -> 0x1234_5678_9ABC_DEF0L;
      case F32 -> Float.intBitsToFloat(0x7FC0_0001);
      case F64 -> 2.5;
      case BOOL -> true;
      case STRING -> "héllo, wörld";
      case BYTES -> new byte[] {1, 2, 3, 0, (byte) 0xFF};
    };
  }

  private static void seed(
      java.nio.file.Path dir, String name, int decoder, WireType type, RecordEncoder record)
      throws java.io.IOException {
    byte[] bytes = new byte[Math.toIntExact(record.size()) + 2];
    bytes[0] = (byte) decoder;
    bytes[1] = (byte) type.tag();
    record.writeTo(MemorySegment.ofArray(bytes), 2);
    java.nio.file.Files.write(dir.resolve(name), bytes);
  }
}
