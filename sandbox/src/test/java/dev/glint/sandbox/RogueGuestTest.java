package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** A hostile guest written by hand ({@link RogueGuest}) breaks the protocol in every way. */
@Timeout(60)
class RogueGuestTest {

  static Stream<Arguments> violations() {
    List<Arguments> cases = new ArrayList<>();
    for (PrivilegeLevel level : PrivilegeLevel.values()) {
      cases.add(Arguments.of(level, "F", "signalled FAULT from RIP 0x2000"));
      cases.add(Arguments.of(level, "P", "I/O port 0x106, which is not a Glint port"));
      cases.add(Arguments.of(level, "I", "read from I/O port 0x100"));
      cases.add(Arguments.of(level, "H", "bad host call record: expected a host call record"));
      cases.add(Arguments.of(level, "L", "bad log record: log record has level 9"));
      cases.add(Arguments.of(level, "R", "signalled READY on port 0x100 while the host waited"));
      cases.add(Arguments.of(level, "T", "return record has 1 trailing bytes"));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("violations")
  void everyViolationPoisonsWithAClearMessage(
      PrivilegeLevel level, String function, String expected) {
    try (Sandbox sandbox = rogue(level)) {
      assertEquals(42, sandbox.call("O", ValueType.I32), "the guest works before it misbehaves");
      ProtocolViolationException e =
          assertThrows(
              ProtocolViolationException.class, () -> sandbox.call(function, ValueType.I32));
      assertTrue(
          e.getMessage().contains(expected),
          () -> "expected '%s' in '%s'".formatted(expected, e.getMessage()));
      assertThrows(SandboxPoisonedException.class, () -> sandbox.call("O", ValueType.I32));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aTripleFaultIsReportedAsADoubleFaultWithoutAddress(PrivilegeLevel level) {
    try (Sandbox sandbox = rogue(level)) {
      GuestFaultException e =
          assertThrows(GuestFaultException.class, () -> sandbox.call("D", ValueType.I32));
      if (level == PrivilegeLevel.KERNEL) {
        // The empty IDT cannot deliver #UD, nor the #DF after it: the CPU shuts down.
        assertEquals(8, e.vector(), e.getMessage());
        assertTrue(e.rip().isEmpty(), e.getMessage());
        assertTrue(e.getMessage().contains("triple fault"), e.getMessage());
      } else {
        assertEquals(13, e.vector(), "lidt at CPL 3: " + e.getMessage());
        assertEquals(3, e.cpl());
      }
      assertThrows(SandboxPoisonedException.class, () -> sandbox.call("O", ValueType.I32));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aMalformedFunctionTableFailsTheBuild(PrivilegeLevel level) {
    TestSandboxes.requireBackend();
    ProtocolViolationException e =
        assertThrows(
            ProtocolViolationException.class,
            () ->
                Sandbox.builder()
                    .guest(RogueGuest.elfWithDuplicateNames())
                    .backend(TestSandboxes.BACKEND)
                    .privilegeLevel(level)
                    .build());
    assertTrue(e.getMessage().contains("lists 'O' twice"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aGuestThatNeverBecomesReadyIsStoppedByTheCallTimeout(PrivilegeLevel level) {
    TestSandboxes.requireBackend();
    CallTimeoutException e =
        assertThrows(
            CallTimeoutException.class,
            () ->
                Sandbox.builder()
                    .guest(RogueGuest.spinningElf())
                    .backend(TestSandboxes.BACKEND)
                    .privilegeLevel(level)
                    .callTimeout(java.time.Duration.ofMillis(100))
                    .build());
    assertTrue(e.getMessage().contains("initialization ran longer"), e.getMessage());
  }

  private static Sandbox rogue(PrivilegeLevel level) {
    TestSandboxes.requireBackend();
    return Sandbox.builder()
        .guest(RogueGuest.elf())
        .backend(TestSandboxes.BACKEND)
        .privilegeLevel(level)
        .build();
  }
}
