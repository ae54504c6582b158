package dev.glint.sandbox;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code faults} guest: every way it fails becomes its typed error, the JVM keeps running, and
 * the sandbox is then poisoned; the infinite loop is stopped by a call timeout or by closing.
 */
@Timeout(60)
class FaultsGuestTest {
  private static final int DE = 0;
  private static final int BP = 3;
  private static final int UD = 6;
  private static final int GP = 13;
  private static final int PF = 14;

  /** What a faults function must end in. */
  sealed interface Expected {}

  record Fault(int vector, boolean pageFaultAt, long address) implements Expected {}

  record Violation(String fragment) implements Expected {}

  record Aborted(int code, String message) implements Expected {}

  static Stream<Arguments> faults() {
    List<Arguments> cases = new ArrayList<>();
    for (PrivilegeLevel level : PrivilegeLevel.values()) {
      boolean user = level == PrivilegeLevel.USER;
      cases.add(Arguments.of(level, "NullDeref", new Fault(PF, true, 0)));
      cases.add(Arguments.of(level, "WriteNull", new Fault(PF, true, 8)));
      cases.add(Arguments.of(level, "DivideByZero", new Fault(DE, false, 0)));
      cases.add(Arguments.of(level, "InvalidOpcode", new Fault(UD, false, 0)));
      cases.add(Arguments.of(level, "Breakpoint", breakpoint(user)));
      cases.add(Arguments.of(level, "StackOverflow", new Fault(PF, false, 0)));
      cases.add(Arguments.of(level, "WriteCode", new Fault(PF, false, 0)));
      cases.add(Arguments.of(level, "ExecuteData", new Fault(PF, false, 0)));
      cases.add(Arguments.of(level, "WriteInput", new Fault(PF, false, 0)));
      // hlt and out to port 0x80 are privileged at CPL 3 only; at CPL 0 they exit to the host.
      cases.add(
          Arguments.of(level, "Privileged", user ? new Fault(GP, false, 0) : new Violation("hlt")));
      cases.add(
          Arguments.of(
              level,
              "ForbiddenPort",
              user ? new Fault(GP, false, 0) : new Violation("I/O port 0x80")));
      cases.add(Arguments.of(level, "GarbageOutput", new Violation("bad return record")));
      cases.add(
          Arguments.of(
              level, "OversizedRecord", new Violation("claims a payload of 4294967280 bytes")));
      cases.add(
          Arguments.of(level, "Abort", new Aborted(42, "abort requested by the faults guest")));
    }
    return cases.stream();
  }

  /**
   * {@return what int3 ends in} At CPL 0 it is #BP, except on PVM hosts, where KVM's CPL-0
   * instruction emulator cannot run int3 and stops the VM (KVM_INTERNAL_ERROR_EMULATION, or
   * HVMSG_UNSUPPORTED_FEATURE through the mshv double, which runs on KVM), which the sandbox
   * reports as a protocol violation. At CPL 3 the gate's DPL 0 makes it #GP on hardware, while PVM
   * delivers #BP.
   */
  private static Expected breakpoint(boolean user) {
    boolean pvm = TestSandboxes.privilegedCodeIsEmulated();
    if (user) {
      return new Fault(pvm ? BP : GP, false, 0);
    }
    if (!pvm) {
      return new Fault(BP, false, 0);
    }
    // KVM names the emulator's failure; the mshv double (KVM underneath) reports it as the
    // hypervisor's HVMSG_UNSUPPORTED_FEATURE.
    return new Violation(
        TestSandboxes.BACKEND.equals("kvm")
            ? "KVM_INTERNAL_ERROR_EMULATION"
            : "HVMSG_UNSUPPORTED_FEATURE");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("faults")
  void failsWithItsTypedErrorAndPoisons(PrivilegeLevel level, String function, Expected expected) {
    try (Sandbox sandbox = faults(level)) {
      SandboxException failure =
          assertThrows(SandboxException.class, () -> sandbox.call(function, ValueType.I32));
      switch (expected) {
        case Fault(int vector, boolean pageFaultAt, long address) -> {
          GuestFaultException fault =
              assertInstanceOf(GuestFaultException.class, failure, failure.getMessage());
          assertEquals(vector, fault.vector(), fault.getMessage());
          assertTrue(fault.rip().isPresent(), fault.getMessage());
          assertEquals(level.cpl(), fault.cpl(), fault.getMessage());
          if (pageFaultAt) {
            assertEquals(OptionalLong.of(address), fault.faultAddress(), fault.getMessage());
          }
          if (function.equals("StackOverflow")) {
            long guardPage = (8L << 20) - (256L << 10) - 4096;
            long cr2 = fault.faultAddress().orElseThrow();
            assertTrue(
                cr2 >= guardPage && cr2 < guardPage + 4096,
                "CR2 0x%x must be in the guard page".formatted(cr2));
          }
        }
        case Violation(String fragment) -> {
          ProtocolViolationException violation =
              assertInstanceOf(ProtocolViolationException.class, failure, failure.getMessage());
          assertTrue(
              violation.getMessage().contains(fragment),
              () -> "expected '%s' in '%s'".formatted(fragment, violation.getMessage()));
        }
        case Aborted(int code, String message) -> {
          GuestAbortedException aborted =
              assertInstanceOf(GuestAbortedException.class, failure, failure.getMessage());
          assertEquals(code, aborted.code());
          assertEquals(message, aborted.guestMessage());
        }
      }
      assertTrue(failure.poisons());
      assertTrue(sandbox.isPoisoned());
      SandboxPoisonedException refused =
          assertThrows(
              SandboxPoisonedException.class,
              () -> sandbox.call("CallUnregisteredHost", ValueType.I32));
      assertSame(failure, refused.getCause());
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void anInfiniteLoopIsStoppedByTheCallTimeout(PrivilegeLevel level) {
    Duration timeout = Duration.ofMillis(200);
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.FAULTS, level).callTimeout(timeout).build()) {
      // A quick call first: its timer is cancelled and must not disturb the next call.
      assertEquals(1, sandbox.call("CallUnregisteredHost", ValueType.I32));
      long start = System.nanoTime();
      CallTimeoutException e =
          assertThrows(
              CallTimeoutException.class, () -> sandbox.call("InfiniteLoop", ValueType.I32));
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertEquals(timeout, e.timeout());
      assertTrue(e.getMessage().contains("timeout of 200 ms"), e.getMessage());
      assertTrue(took.compareTo(timeout) >= 0, "stopped after " + took);
      assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "stopped after " + took);
      assertThrows(SandboxPoisonedException.class, () -> sandbox.call("Abort", ValueType.I32));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void closingStopsARunningCall(PrivilegeLevel level) throws Exception {
    Sandbox sandbox = faults(level);
    CompletableFuture<Integer> call =
        CompletableFuture.supplyAsync(() -> sandbox.call("InfiniteLoop", ValueType.I32));
    Thread.sleep(100);
    sandbox.close();
    ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, SECONDS));
    ProtocolViolationException stopped =
        assertInstanceOf(ProtocolViolationException.class, e.getCause());
    assertTrue(stopped.getMessage().contains("closed while the guest ran"), stopped.getMessage());
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aFreshSandboxWorksAfterAFault(PrivilegeLevel level) {
    try (Sandbox sandbox = faults(level)) {
      assertThrows(GuestFaultException.class, () -> sandbox.call("NullDeref", ValueType.I32));
    }
    try (Sandbox sandbox = faults(level)) {
      // The guest's host call to an unknown function gets error code 1 and returns it.
      assertEquals(1, sandbox.call("CallUnregisteredHost", ValueType.I32));
    }
  }

  private static Sandbox faults(PrivilegeLevel level) {
    // GarbageOutput fills the whole output buffer byte by byte: at CPL 0 on a PVM host every
    // instruction is emulated (about 1 µs), so keep that buffer small there.
    Sandbox.Builder builder = TestSandboxes.builder(SampleGuests.FAULTS, level);
    if (level == PrivilegeLevel.KERNEL) {
      builder.outputBufferSize(16 << 10);
    }
    return builder.build();
  }
}
