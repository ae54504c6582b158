package dev.glint.cli.internal.args;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.sandbox.GuestFunction;
import dev.glint.sandbox.ValueType;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Typed command-line arguments against a signature, without a guest. */
class GuestArgumentsTest {
  private static final InputStream NO_INPUT = InputStream.nullInputStream();

  @TempDir Path folder;

  private static GuestFunction f(ValueType<?>... parameters) {
    return new GuestFunction("F", ValueType.VOID, List.of(parameters));
  }

  private static Object one(ValueType<?> type, String word) throws ArgumentException {
    return GuestArguments.parse(f(type), List.of(word), NO_INPUT).getFirst();
  }

  @Test
  void integersAreRangeCheckedAndKeepTheirBits() throws Exception {
    assertEquals(-5, one(ValueType.I32, "i32:-5"));
    assertEquals(255, one(ValueType.I32, "0xff"));
    assertEquals(1_000_000, one(ValueType.I32, "1_000_000"));
    assertEquals(-1, one(ValueType.U32, "4294967295"));
    assertEquals(Long.MIN_VALUE, one(ValueType.I64, "-9223372036854775808"));
    assertEquals(-1L, one(ValueType.U64, "u64:0xffffffffffffffff"));
    for (String bad : List.of("2147483648", "1.5", "", "0x", "--1", "12abc")) {
      ArgumentException e = assertThrows(ArgumentException.class, () -> one(ValueType.I32, bad));
      assertTrue(
          e.getMessage().contains("is not an i32 (-2147483648 to 2147483647)"), e.getMessage());
    }
    ArgumentException negative =
        assertThrows(ArgumentException.class, () -> one(ValueType.U32, "-1"));
    assertTrue(negative.getMessage().contains("(0 to 4294967295)"), negative.getMessage());
    assertThrows(ArgumentException.class, () -> one(ValueType.U64, "18446744073709551616"));
  }

  @Test
  void floatsTakeNanAndInfinities() throws Exception {
    assertEquals(1.5f, one(ValueType.F32, "f32:1.5"));
    assertEquals(-2e10, one(ValueType.F64, "-2e10"));
    assertTrue(Double.isNaN((Double) one(ValueType.F64, "NaN")));
    assertEquals(Float.NEGATIVE_INFINITY, one(ValueType.F32, "-inf"));
    assertThrows(ArgumentException.class, () -> one(ValueType.F64, "1.5d"));
    assertThrows(ArgumentException.class, () -> one(ValueType.F64, "one"));
  }

  @Test
  void boolsAndStrings() throws Exception {
    assertEquals(true, one(ValueType.BOOL, "TRUE"));
    assertEquals(false, one(ValueType.BOOL, "bool:false"));
    assertThrows(ArgumentException.class, () -> one(ValueType.BOOL, "1"));
    assertEquals("hello:world", one(ValueType.STRING, "hello:world"));
    assertEquals("i32:5", one(ValueType.STRING, "str:i32:5"));
    assertEquals("", one(ValueType.STRING, "string:"));
  }

  @Test
  void bytesFromFilesHexBase64StandardInputOrText() throws Exception {
    Path file = Files.write(folder.resolve("in.bin"), new byte[] {1, 2, 3});
    assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) one(ValueType.BYTES, "bytes:@" + file));
    assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) one(ValueType.BYTES, "hex:00:ff"));
    assertArrayEquals(
        new byte[] {0, (byte) 0xff}, (byte[]) one(ValueType.BYTES, "bytes:base64:AP8="));
    assertArrayEquals(
        "hé".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        (byte[]) one(ValueType.BYTES, "hé"));
    byte[] stdin =
        (byte[])
            GuestArguments.parse(
                    f(ValueType.BYTES), List.of("@-"), new ByteArrayInputStream(new byte[] {9}))
                .getFirst();
    assertArrayEquals(new byte[] {9}, stdin);
    ArgumentException missing =
        assertThrows(
            ArgumentException.class, () -> one(ValueType.BYTES, "@" + folder.resolve("nope")));
    assertTrue(missing.getMessage().contains("cannot read the file"), missing.getMessage());
    ArgumentException hex =
        assertThrows(ArgumentException.class, () -> one(ValueType.BYTES, "hex:abc"));
    assertTrue(hex.getMessage().contains("is not hex"), hex.getMessage());
  }

  @Test
  void aTypeThatIsNotTheParametersIsRefusedWithTheSignature() {
    GuestFunction add =
        new GuestFunction("Add", ValueType.I32, List.of(ValueType.I32, ValueType.I32));
    ArgumentException e =
        assertThrows(
            ArgumentException.class,
            () -> GuestArguments.parse(add, List.of("1", "str:2"), NO_INPUT));
    assertEquals(
        "argument 2 of Add(i32, i32) -> i32 is an i32, but 'str:2' is a string; write i32:VALUE,"
            + " or the value alone",
        e.getMessage());
  }

  @Test
  void theCountMustMatch() {
    GuestFunction noop = new GuestFunction("Noop", ValueType.VOID, List.of());
    ArgumentException e =
        assertThrows(
            ArgumentException.class, () -> GuestArguments.parse(noop, List.of("x"), NO_INPUT));
    assertEquals("Noop() -> void takes 0 arguments, but 1 argument was given", e.getMessage());
    GuestFunction two =
        new GuestFunction("T", ValueType.VOID, List.of(ValueType.STRING, ValueType.BYTES));
    ArgumentException none =
        assertThrows(ArgumentException.class, () -> GuestArguments.parse(two, List.of(), NO_INPUT));
    assertEquals(
        "T(string, bytes) -> void takes 2 arguments, but none was given; write them as str:VALUE bytes:VALUE",
        none.getMessage());
  }

  @Test
  void resultsPrintUnsignedAndHex() {
    assertEquals("4294967295", Results.text(ValueType.U32, -1));
    assertEquals("18446744073709551615", Results.text(ValueType.U64, -1L));
    assertEquals("-1", Results.text(ValueType.I32, -1));
    assertEquals("00ff", Results.text(ValueType.BYTES, new byte[] {0, (byte) 0xff}));
    assertEquals("", Results.text(ValueType.VOID, null));
    assertEquals("NaN", Results.text(ValueType.F64, Double.NaN));
  }
}
