package dev.glint.sandbox.internal.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Registers;
import dev.glint.hv.VcpuExit;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.image.LoadSegment;
import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.RecordEncoder;
import dev.glint.sandbox.internal.wire.RecordKind;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The run loop against a scripted vCPU: every kind of exit, without a hypervisor. */
class ExitLoopTest {
  private static final long STUB_TAIL = 0x3000 + 0x200 + 0x19; // RIP after the stub's out

  private final ScriptedHypervisor hypervisor = new ScriptedHypervisor();
  private final List<String> logged = new ArrayList<>();
  private GuestVm vm;
  private ExitLoop loop;

  @BeforeEach
  void create() {
    GuestImage image =
        new GuestImage(
            0x200000,
            List.of(new LoadSegment(0, 0x200000, 0x10, 0, 0x2, true, false, true)),
            new byte[] {(byte) 0xEB, (byte) 0xFE});
    vm =
        GuestVm.create(
            hypervisor, image, MemoryPlan.of(LayoutSizes.defaults(), image.end()), 3, "test");
    HostFunctionTable hostFunctions =
        new HostFunctionTable(
            List.of(
                new HostBinding(
                    new FunctionSignature("Twice", WireType.I32, List.of(WireType.I32)),
                    args -> 2 * (Integer) args.getFirst())));
    loop = new ExitLoop(vm, hostFunctions, new CapturingLogger(logged));
  }

  @AfterEach
  void close() {
    vm.close();
    hypervisor.close();
  }

  private void then(ScriptedHypervisor.Step step) {
    hypervisor.script.add(step);
  }

  private void thenOut(int port) {
    then((memory, vcpu) -> new VcpuExit.IoOut(port, 1, 0));
  }

  private void thenOutput(RecordEncoder record, int port) {
    then(
        (memory, vcpu) -> {
          record.writeTo(vm.output(), 0);
          return new VcpuExit.IoOut(port, 1, 0);
        });
  }

  @Test
  void theGuestSetsUpTheEntryRegisters() {
    var vcpu = (ScriptedHypervisor.ScriptedVcpu) vm.vcpu();
    assertEquals(0x200000, vcpu.registers.rip());
    assertEquals(MemoryPlan.DESCRIPTOR_ADDRESS, vcpu.registers.rdi());
    assertEquals(8L << 20, vcpu.registers.rsp());
    assertEquals(3, vcpu.specialRegisters.cpl());
  }

  @Test
  void theExpectedSignalEndsTheRun() {
    thenOut(ExitLoop.RETURN);
    ExitLoop.Result result = loop.run(ExitLoop.RETURN, 16);
    assertEquals(new ExitLoop.Result(new Stop.Signalled(), 1, List.of()), result);
  }

  @Test
  void logsAreLoggedAndTheGuestRunsOn() {
    thenOutput(
        new RecordEncoder(RecordKind.LOG).u8(2).lengthPrefixed(utf8("careful")), ExitLoop.LOG);
    thenOut(ExitLoop.RETURN);
    ExitLoop.Result result = loop.run(ExitLoop.RETURN, 16);
    assertEquals(new Stop.Signalled(), result.stop());
    assertEquals(2, result.exits());
    assertEquals(List.of("WARNING careful"), logged);
  }

  @Test
  void hostCallsAreAnsweredAtTheFirstMultipleOf8AfterTheCallRecord() {
    FunctionSignature twice = new FunctionSignature("Twice", WireType.I32, List.of(WireType.I32));
    thenOutput(WireCodec.encodeHostCall(twice, List.of(21)), ExitLoop.HOST_CALL);
    then(
        (memory, vcpu) -> {
          // The guest reads the result where the ABI puts it: after a 13-byte call, at 16.
          assertEquals(
              new GuestRecords.Returned(42),
              WireCodec.decodeHostResult(vm.input().asSlice(16), WireType.I32));
          return new VcpuExit.IoOut(ExitLoop.RETURN, 1, 0);
        });
    ExitLoop.Result result = loop.run(ExitLoop.RETURN, 13);
    assertEquals(new Stop.Signalled(), result.stop());
    assertEquals(List.of(), result.hostFailures());
  }

  @Test
  void failedHostCallsAreCollected() {
    FunctionSignature nope = new FunctionSignature("Nope", WireType.I32, List.of());
    thenOutput(WireCodec.encodeHostCall(nope, List.of()), ExitLoop.HOST_CALL);
    thenOut(ExitLoop.RETURN);
    ExitLoop.Result result = loop.run(ExitLoop.RETURN, 8);
    assertEquals(List.of(new HostCallFailure.NotFound("Nope")), result.hostFailures());
  }

  static Stream<Arguments> violations() {
    return Stream.of(
        Arguments.of(new VcpuExit.IoOut(0x80, 1, 0), "I/O port 0x80, which is not a Glint port"),
        Arguments.of(new VcpuExit.IoOut(0x10F, 1, 0), "I/O port 0x10f"),
        Arguments.of(new VcpuExit.IoOut(ExitLoop.READY, 1, 0), "signalled READY"),
        Arguments.of(new VcpuExit.IoIn(0x100, 1), "read from I/O port 0x100"),
        Arguments.of(new VcpuExit.MmioRead(0x1_0000_0000L, 8), "read 8 bytes of unbacked"),
        Arguments.of(new VcpuExit.MmioWrite(0x1_0000_0000L, 4, 1), "wrote 4 bytes to unbacked"),
        Arguments.of(new VcpuExit.Halt(), "executed hlt"),
        Arguments.of(new VcpuExit.FailEntry(7, "bad state"), "refused to enter the guest"),
        Arguments.of(
            new VcpuExit.InternalError(1, "KVM_INTERNAL_ERROR_EMULATION"),
            "could not run the guest (internal error 1: KVM_INTERNAL_ERROR_EMULATION)"),
        Arguments.of(new VcpuExit.Unknown(99, "?"), "unknown reason (99: ?)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("violations")
  void everyOtherExitIsAProtocolViolation(VcpuExit exit, String expected) {
    then((memory, vcpu) -> exit);
    Stop.Violation violation =
        assertInstanceOf(Stop.Violation.class, loop.run(ExitLoop.RETURN, 16).stop());
    assertTrue(
        violation.message().contains(expected),
        () -> "expected '%s' in '%s'".formatted(expected, violation.message()));
  }

  @Test
  void aShutdownIsATripleFault() {
    then((memory, vcpu) -> new VcpuExit.Shutdown());
    assertEquals(new Stop.Faulted(FaultReport.tripleFault()), loop.run(ExitLoop.RETURN, 16).stop());
  }

  @Test
  void aFaultFromTheStubsCarriesItsRegisters() {
    then(
        (memory, vcpu) -> {
          vcpu.registers =
              new Registers(
                  14, 6, 0x200010, 0x105, 0x7FF000, 0xDEAD000, 0x5F00, 0, 0x23, 0, 0, 0, 0, 0, 0, 0,
                  STUB_TAIL, 0x2);
          return new VcpuExit.IoOut(ExitLoop.FAULT, 1, 0);
        });
    assertEquals(
        new Stop.Faulted(new FaultReport(14, 6, 0x200010, 0x23, 0x7FF000, 0xDEAD000)),
        loop.run(ExitLoop.RETURN, 16).stop());
  }

  @Test
  void aFaultSignalledFromGuestCodeIsForged() {
    then(
        (memory, vcpu) -> {
          vcpu.registers = Registers.initial().withRax(14).withRip(0x200002);
          return new VcpuExit.IoOut(ExitLoop.FAULT, 1, 0);
        });
    Stop.Violation violation =
        assertInstanceOf(Stop.Violation.class, loop.run(ExitLoop.RETURN, 16).stop());
    assertTrue(violation.message().contains("outside the host's fault stubs"));
  }

  @Test
  void aFaultWithAnImpossibleVectorIsForged() {
    then(
        (memory, vcpu) -> {
          vcpu.registers = Registers.initial().withRax(99).withRip(STUB_TAIL);
          return new VcpuExit.IoOut(ExitLoop.FAULT, 1, 0);
        });
    assertInstanceOf(Stop.Violation.class, loop.run(ExitLoop.RETURN, 16).stop());
  }

  @Test
  void anAbortCarriesCodeAndMessage() {
    thenOutput(
        new RecordEncoder(RecordKind.ABORT).i32(-7).lengthPrefixed(utf8("gave up")),
        ExitLoop.ABORT);
    assertEquals(new Stop.Aborted(-7, "gave up"), loop.run(ExitLoop.RETURN, 16).stop());
  }

  @Test
  void aMalformedAbortRecordIsAViolation() {
    thenOutput(new RecordEncoder(RecordKind.LOG).u8(1).i32(0), ExitLoop.ABORT);
    Stop.Violation violation =
        assertInstanceOf(Stop.Violation.class, loop.run(ExitLoop.RETURN, 16).stop());
    assertTrue(violation.message().contains("bad abort record"), violation.message());
  }

  @Test
  void aStaleInterruptIsIgnored() {
    then((memory, vcpu) -> new VcpuExit.Cancelled());
    thenOut(ExitLoop.RETURN);
    ExitLoop.Result result =
        loop.run(ExitLoop.RETURN, 16, System.nanoTime() + 60_000_000_000L, () -> false);
    assertEquals(new Stop.Signalled(), result.stop());
    assertEquals(2, result.exits());
  }

  @Test
  void anInterruptWithoutDeadlineIsIgnored() {
    then((memory, vcpu) -> new VcpuExit.Cancelled());
    thenOut(ExitLoop.RETURN);
    assertEquals(new Stop.Signalled(), loop.run(ExitLoop.RETURN, 16).stop());
  }

  @Test
  void anInterruptAfterTheDeadlineTimesOut() {
    then((memory, vcpu) -> new VcpuExit.Cancelled());
    assertEquals(
        new Stop.TimedOut(),
        loop.run(ExitLoop.RETURN, 16, System.nanoTime() - 1, () -> false).stop());
  }

  @Test
  void anInterruptWhileClosingEndsTheRun() {
    then((memory, vcpu) -> new VcpuExit.Cancelled());
    Stop.Violation violation =
        assertInstanceOf(
            Stop.Violation.class,
            loop.run(ExitLoop.RETURN, 16, ExitLoop.NO_DEADLINE, () -> true).stop());
    assertTrue(violation.message().contains("closed"));
  }

  @Test
  void theLargestCallLeavesTheHostResultReserve() {
    assertEquals(4080, ExitLoop.maxCallRecordSize(4096));
    assertEquals(4072, ExitLoop.maxCallRecordSize(4095));
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** A System.Logger that keeps "LEVEL message" lines. */
  private record CapturingLogger(List<String> lines) implements System.Logger {
    @Override
    public String getName() {
      return "test";
    }

    @Override
    public boolean isLoggable(Level level) {
      return true;
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
      lines.add(level + " " + message);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
      lines.add(level + " " + format);
    }
  }
}
