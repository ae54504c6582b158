package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The {@code hello} guest: its function calls the host's {@code HostPrint}. */
@Timeout(60)
class HelloGuestTest {

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void printsThroughHostPrintAndReturnsItsValue(PrivilegeLevel level) {
    StringBuilder printed = new StringBuilder();
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level).printTo(printed::append).build()) {
      assertEquals(level, sandbox.privilegeLevel());
      assertEquals(TestSandboxes.BACKEND, sandbox.backend());
      assertEquals(
          List.of(new GuestFunction("PrintOutput", ValueType.I32, List.of(ValueType.STRING))),
          sandbox.functions());
      int written = sandbox.call("PrintOutput", ValueType.I32, "héllo, wörld\n");
      assertEquals("héllo, wörld\n", printed.toString());
      assertEquals("héllo, wörld\n".getBytes(StandardCharsets.UTF_8).length, written);
      assertEquals(0, sandbox.call("PrintOutput", ValueType.I32, ""));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void defaultHostPrintWritesToSystemOut(PrivilegeLevel level) {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.HELLO, level).build()) {
      assertEquals(6, sandbox.call("PrintOutput", ValueType.I32, "to out"));
    } finally {
      System.setOut(original);
    }
    assertEquals("to out", captured.toString(StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aReplacedHostPrintIsCalledWithTypedArguments(PrivilegeLevel level) {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level)
            .hostFunction("HostPrint", ValueType.I32, ValueType.STRING, text -> text.length() * 100)
            .build()) {
      assertEquals(300, sandbox.call("PrintOutput", ValueType.I32, "abc"));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aFailingHostFunctionReachesTheCallerAsCause(PrivilegeLevel level) {
    IllegalStateException boom = new IllegalStateException("printer on fire");
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level)
            .hostFunction(
                "HostPrint",
                ValueType.I32,
                List.of(ValueType.STRING),
                args -> {
                  throw boom;
                })
            .build()) {
      GuestErrorException e =
          assertThrows(
              GuestErrorException.class, () -> sandbox.call("PrintOutput", ValueType.I32, "x"));
      assertTrue(e.guestMessage().contains("printer on fire"), e.guestMessage());
      HostFunctionFailedException cause =
          assertInstanceOf(HostFunctionFailedException.class, e.getCause());
      assertEquals("HostPrint", cause.functionName());
      assertSame(boom, cause.getCause());
      assertTrue(!sandbox.isPoisoned(), "a guest error does not poison");
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aHostFunctionCannotCallBackIntoItsSandbox(PrivilegeLevel level) {
    Sandbox[] self = new Sandbox[1];
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level)
            .hostFunction(
                "HostPrint",
                ValueType.I32,
                ValueType.STRING,
                text -> self[0].call("PrintOutput", ValueType.I32, text))
            .build()) {
      self[0] = sandbox;
      GuestErrorException e =
          assertThrows(
              GuestErrorException.class, () -> sandbox.call("PrintOutput", ValueType.I32, "x"));
      assertInstanceOf(
          IllegalStateException.class,
          assertInstanceOf(HostFunctionFailedException.class, e.getCause()).getCause());
    }
  }
}
