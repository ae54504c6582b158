package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code echo} guest: every type round-trips with edge values, host calls with the right and
 * the wrong types, logs, guest errors, and calls the host refuses before the guest runs. Each test
 * gets its own sandbox per privilege level, so one failure cannot cascade.
 */
@Timeout(120)
class EchoGuestTest {
  private final List<String> hostEchoed = new ArrayList<>();
  private final Map<PrivilegeLevel, Sandbox> sandboxes = new EnumMap<>(PrivilegeLevel.class);

  private Sandbox echo(PrivilegeLevel level) {
    return TestSandboxes.builder(SampleGuests.ECHO, level)
        .hostFunction(
            "HostEcho",
            ValueType.STRING,
            ValueType.STRING,
            s -> {
              hostEchoed.add(s);
              return "host:" + s;
            })
        .hostFunction("Twice", ValueType.I32, ValueType.I32, x -> 2 * x)
        .hostFunction(
            "Throws",
            ValueType.I32,
            ValueType.I32,
            x -> {
              throw new ArithmeticException("no " + x);
            })
        .build();
  }

  @AfterEach
  void close() {
    sandboxes.values().forEach(Sandbox::close);
  }

  /** {@return this test's sandbox at {@code level}, built on first use} */
  private Sandbox sandbox(PrivilegeLevel level) {
    return sandboxes.computeIfAbsent(level, this::echo);
  }

  static Stream<Arguments> edgeValues() {
    List<Arguments> cases = new ArrayList<>();
    for (PrivilegeLevel level : PrivilegeLevel.values()) {
      cases.add(Arguments.of(level, "EchoI32", ValueType.I32, Integer.MIN_VALUE));
      cases.add(Arguments.of(level, "EchoI32", ValueType.I32, Integer.MAX_VALUE));
      cases.add(Arguments.of(level, "EchoI32", ValueType.I32, -1));
      cases.add(Arguments.of(level, "EchoU32", ValueType.U32, -1)); // 0xFFFFFFFF
      cases.add(Arguments.of(level, "EchoU32", ValueType.U32, Integer.MIN_VALUE)); // 2^31
      cases.add(Arguments.of(level, "EchoI64", ValueType.I64, Long.MIN_VALUE));
      cases.add(Arguments.of(level, "EchoI64", ValueType.I64, Long.MAX_VALUE));
      cases.add(Arguments.of(level, "EchoU64", ValueType.U64, -1L));
      cases.add(Arguments.of(level, "EchoF32", ValueType.F32, Float.intBitsToFloat(0x7FC1_2345)));
      cases.add(Arguments.of(level, "EchoF32", ValueType.F32, Float.intBitsToFloat(0xFFC0_0001)));
      cases.add(Arguments.of(level, "EchoF32", ValueType.F32, -0.0f));
      cases.add(Arguments.of(level, "EchoF32", ValueType.F32, Float.MAX_VALUE));
      cases.add(Arguments.of(level, "EchoF32", ValueType.F32, Float.MIN_VALUE));
      cases.add(Arguments.of(level, "EchoF64", ValueType.F64, Double.NaN));
      cases.add(
          Arguments.of(
              level, "EchoF64", ValueType.F64, Double.longBitsToDouble(0x7FF8_0000_DEAD_BEEFL)));
      cases.add(Arguments.of(level, "EchoF64", ValueType.F64, Double.NEGATIVE_INFINITY));
      cases.add(Arguments.of(level, "EchoF64", ValueType.F64, Double.MIN_VALUE));
      cases.add(Arguments.of(level, "EchoBool", ValueType.BOOL, true));
      cases.add(Arguments.of(level, "EchoBool", ValueType.BOOL, false));
      cases.add(Arguments.of(level, "EchoString", ValueType.STRING, ""));
      cases.add(Arguments.of(level, "EchoString", ValueType.STRING, "ünïcødé \uD83D\uDE00 \0 nul"));
      cases.add(Arguments.of(level, "EchoBytes", ValueType.BYTES, new byte[0]));
      cases.add(Arguments.of(level, "EchoBytes", ValueType.BYTES, pattern(255)));
    }
    // 1 MiB through the guest: at CPL 3 it runs natively. At CPL 0 on a PVM host every guest
    // instruction is emulated (about 1 µs each), so copying 1 MiB would take seconds: 4 KiB there.
    cases.add(Arguments.of(PrivilegeLevel.USER, "EchoBytes", ValueType.BYTES, pattern(1 << 20)));
    cases.add(Arguments.of(PrivilegeLevel.KERNEL, "EchoBytes", ValueType.BYTES, pattern(4096)));
    cases.add(
        Arguments.of(
            PrivilegeLevel.USER, "EchoString", ValueType.STRING, "ä".repeat(1 << 19))); // 1 MiB
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} {3}")
  @MethodSource("edgeValues")
  <T> void everyTypeRoundTrips(PrivilegeLevel level, String function, ValueType<T> type, T value) {
    T echoed = sandbox(level).call(function, type, value);
    switch (value) {
      case byte[] bytes -> assertArrayEquals(bytes, (byte[]) echoed);
      case Float f ->
          assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits((Float) echoed));
      case Double d ->
          assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits((Double) echoed));
      default -> assertEquals(value, echoed);
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void voidAndManyArguments(PrivilegeLevel level) {
    Sandbox sandbox = sandbox(level);
    assertNull(sandbox.call("EchoVoid", ValueType.VOID));
    assertEquals("a|-7|true|2.500", sandbox.call("Concat", ValueType.STRING, "a", -7, true, 2.5));
    Object[] sixteen = new Object[16];
    for (int i = 0; i < 16; i++) {
      sixteen[i] = (long) i << 40;
    }
    assertEquals(120L << 40, sandbox.call("Sum16", ValueType.I64, sixteen));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void hostFunctionsAnswerTheGuest(PrivilegeLevel level) {
    Sandbox sandbox = sandbox(level);
    assertEquals("host:ping", sandbox.call("HostEcho", ValueType.STRING, "ping"));
    assertTrue(hostEchoed.contains("ping"));
    assertEquals(42, sandbox.call("CallHost", ValueType.I32, "Twice", 21));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void anUnknownHostFunctionIsAnErrorForTheGuestNotACrash(PrivilegeLevel level) {
    GuestErrorException e =
        assertThrows(
            GuestErrorException.class,
            () -> sandbox(level).call("CallHost", ValueType.I32, "NoSuchFunction", 1));
    assertTrue(e.guestMessage().contains("failed (1)"), e.guestMessage());
    HostFunctionNotFoundException cause =
        assertInstanceOf(HostFunctionNotFoundException.class, e.getCause());
    assertEquals("NoSuchFunction", cause.functionName());
    assertEquals(2, sandbox(level).call("CallHost", ValueType.I32, "Twice", 1)); // still usable
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aHostCallWithWrongTypesGetsAnErrorResult(PrivilegeLevel level) {
    // HostPrint is declared (string) -> i32; the guest passes an i32 and reports what it got.
    assertEquals(-2, sandbox(level).call("CallHostWrongTypes", ValueType.I32));
    assertEquals("x", sandbox(level).call("EchoString", ValueType.STRING, "x"));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aThrowingHostFunctionIsTheCauseOfTheGuestsError(PrivilegeLevel level) {
    GuestErrorException e =
        assertThrows(
            GuestErrorException.class,
            () -> sandbox(level).call("CallHost", ValueType.I32, "Throws", 5));
    assertTrue(e.guestMessage().contains("no 5"), e.guestMessage());
    HostFunctionFailedException cause =
        assertInstanceOf(HostFunctionFailedException.class, e.getCause());
    assertInstanceOf(ArithmeticException.class, cause.getCause());
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void guestErrorsCarryCodeAndMessageAndDoNotPoison(PrivilegeLevel level) {
    GuestErrorException e =
        assertThrows(
            GuestErrorException.class,
            () -> sandbox(level).call("Fail", ValueType.VOID, 65535, "nope ✗"));
    assertEquals(65535, e.code());
    assertEquals("nope ✗", e.guestMessage());
    assertTrue(!sandbox(level).isPoisoned());
    assertEquals(1, sandbox(level).call("EchoI32", ValueType.I32, 1));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void guestLogsGoToTheGuestLogger(PrivilegeLevel level) {
    Logger logger = Logger.getLogger("dev.glint.sandbox.guest");
    List<LogRecord> records = new ArrayList<>();
    Handler handler =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            records.add(record);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Level previous = logger.getLevel();
    logger.setLevel(Level.ALL);
    logger.addHandler(handler);
    try {
      sandbox(level).call("Log", ValueType.VOID, 2, "careful " + level);
      assertEquals("kept", sandbox(level).call("ResultThenLog", ValueType.STRING, "kept"));
    } finally {
      logger.removeHandler(handler);
      logger.setLevel(previous);
    }
    assertTrue(
        records.stream()
            .anyMatch(
                r -> r.getLevel() == Level.WARNING && r.getMessage().equals("careful " + level)),
        () -> "records: " + records.stream().map(LogRecord::getMessage).toList());
    assertTrue(records.stream().anyMatch(r -> r.getMessage().equals("after result")));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void badCallsAreRefusedBeforeTheGuestRuns(PrivilegeLevel level) {
    Sandbox sandbox = sandbox(level);
    GuestFunctionNotFoundException notFound =
        assertThrows(
            GuestFunctionNotFoundException.class, () -> sandbox.call("Nope", ValueType.I32));
    assertEquals("Nope", notFound.functionName());
    assertTrue(notFound.getMessage().contains("EchoI32"), notFound.getMessage());
    TypeMismatchException wrongArgument =
        assertThrows(TypeMismatchException.class, () -> sandbox.call("EchoI32", ValueType.I32, 1L));
    assertTrue(wrongArgument.getMessage().contains("must be a i32 (Integer), but is Long"));
    assertThrows(TypeMismatchException.class, () -> sandbox.call("EchoI32", ValueType.I32));
    assertThrows(TypeMismatchException.class, () -> sandbox.call("EchoI32", ValueType.I32, 1, 2));
    assertThrows(
        TypeMismatchException.class, () -> sandbox.call("EchoI32", ValueType.I32, (Object) null));
    assertThrows(TypeMismatchException.class, () -> sandbox.call("EchoI32", ValueType.U32, 1));
    ArgumentTooLargeException tooLarge =
        assertThrows(
            ArgumentTooLargeException.class,
            () -> sandbox.call("EchoBytes", ValueType.BYTES, (Object) new byte[(1 << 20) + 65536]));
    assertEquals((1 << 20) + 65536 - 16, tooLarge.limit());
    assertTrue(tooLarge.size() > tooLarge.limit());
    assertTrue(!sandbox.isPoisoned());
    assertEquals(7, sandbox.call("EchoI32", ValueType.I32, 7));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void theLargestCallThatFitsGoesThroughAndOneByteMoreIsRefused(PrivilegeLevel level) {
    // A small input buffer, so the largest call is small at CPL 0 too. 16 bytes stay free for
    // host results (ABI §7.4): a call may take 4096 - 16 = 4080 bytes. Record header 8, name
    // "EchoBytes" 2 + 9, count 1, tag 1, length 4: 25 bytes of overhead.
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.ECHO, level).inputBufferSize(4096).build()) {
      byte[] largest = pattern(4080 - 25);
      assertArrayEquals(largest, sandbox.call("EchoBytes", ValueType.BYTES, (Object) largest));
      ArgumentTooLargeException e =
          assertThrows(
              ArgumentTooLargeException.class,
              () -> sandbox.call("EchoBytes", ValueType.BYTES, (Object) pattern(4080 - 24)));
      assertEquals(4081, e.size());
      assertEquals(4080, e.limit());
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aHostCallDuringTheLargestCallStillGetsAnAnswer(PrivilegeLevel level) {
    // HostEcho(s) with a call record of exactly 4080 bytes (header 8, name "HostEcho" 2 + 8,
    // count 1, tag 1, length 4, 4056 bytes of text) leaves just the 16-byte reserve, where the
    // host's result "ok" (header 8, status 1, tag 1, length 4, 2 bytes: 16) goes.
    String text = "a".repeat(4056);
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.ECHO, level)
            .inputBufferSize(4096)
            .hostFunction("HostEcho", ValueType.STRING, ValueType.STRING, s -> "ok")
            .build()) {
      assertEquals("ok", sandbox.call("HostEcho", ValueType.STRING, text));
      assertThrows(
          ArgumentTooLargeException.class,
          () -> sandbox.call("HostEcho", ValueType.STRING, text + "a"));
    }
  }

  private static byte[] pattern(int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) (i * 31 + 7);
    }
    return bytes;
  }
}
