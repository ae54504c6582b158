package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Snapshots on KVM, at both privilege levels, with the {@code state} guest: what a call writes
 * (globals, heap, registers) is gone after a restore; sandboxes started from one snapshot are
 * independent; a sandbox that faulted, timed out or was interrupted works again after a restore.
 */
@Timeout(120)
class SnapshotTest {

  private static Sandbox state(PrivilegeLevel level) {
    return TestSandboxes.builder(SampleGuests.STATE, level).build();
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void globalsAndHeapWrittenAfterTheSnapshotAreGoneAfterRestore(PrivilegeLevel level) {
    try (Sandbox sandbox = state(level)) {
      assertEquals(1L, sandbox.call("Increment", ValueType.I64));
      assertEquals(4096L, sandbox.call("Allocate", ValueType.I64, 4096));
      try (Snapshot snapshot = sandbox.snapshot()) {
        assertEquals(2L, sandbox.call("Increment", ValueType.I64));
        assertEquals(4096L + 65536, sandbox.call("Allocate", ValueType.I64, 65536));
        assertEquals(64, sandbox.call("TouchPages", ValueType.I32, 64));
        sandbox.restore(snapshot);
        assertEquals(1L, sandbox.call("Counter", ValueType.I64), "the global, as at the snapshot");
        assertEquals(4096L, sandbox.call("Allocated", ValueType.I64), "the heap's bookkeeping");
        assertEquals(2L, sandbox.call("Increment", ValueType.I64));
        // Restore after restore, and after calls that wrote nothing new.
        sandbox.restore(snapshot);
        sandbox.restore(snapshot);
        assertEquals(2L, sandbox.call("Increment", ValueType.I64));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void registersAreTheSnapshotsAfterRestore(PrivilegeLevel level) {
    try (Sandbox sandbox = state(level);
        Snapshot snapshot = sandbox.snapshot()) {
      Registers registers = sandbox.vcpuRegisters();
      SpecialRegisters special = sandbox.vcpuSpecialRegisters();
      assertEquals(snapshot.registers(), registers, "the snapshot holds the settled registers");
      sandbox.call("Work", ValueType.I64, 1000L);
      assertFalse(registers.equals(sandbox.vcpuRegisters()), "a call changes registers");
      sandbox.restore(snapshot);
      assertEquals(registers, sandbox.vcpuRegisters());
      assertEquals(special, sandbox.vcpuSpecialRegisters());
      assertEquals(-7046029254386353131L, sandbox.call("Work", ValueType.I64, 0L));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void sandboxesFromOneSnapshotDoNotSeeEachOthersWrites(PrivilegeLevel level) {
    try (Sandbox template = state(level)) {
      template.call("Increment", ValueType.I64);
      try (Snapshot snapshot = template.snapshot();
          Sandbox first = Sandbox.builder().snapshot(snapshot).build();
          Sandbox second = Sandbox.builder().snapshot(snapshot).build()) {
        assertEquals(level, first.privilegeLevel());
        assertEquals(template.functions(), first.functions());
        assertEquals(2L, first.call("Increment", ValueType.I64));
        assertEquals(3L, first.call("Increment", ValueType.I64));
        first.call("Allocate", ValueType.I64, 100_000);
        assertEquals(2L, second.call("Increment", ValueType.I64), "second starts from 1 too");
        assertEquals(0L, second.call("Allocated", ValueType.I64));
        assertEquals(2L, template.call("Increment", ValueType.I64), "the template too");
        assertEquals(4L, first.call("Increment", ValueType.I64));
        // Restoring one leaves the others alone.
        first.restore(snapshot);
        assertEquals(2L, second.call("Counter", ValueType.I64));
        assertEquals(1L, first.call("Counter", ValueType.I64));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aSandboxStartedFromASnapshotOutlivesItAndStillRestoresToIt(PrivilegeLevel level) {
    Sandbox sandbox;
    Snapshot snapshot;
    try (Sandbox template = state(level)) {
      template.call("Increment", ValueType.I64);
      snapshot = template.snapshot();
    }
    try (Sandbox started = Sandbox.builder().snapshot(snapshot).build()) {
      sandbox = started;
      snapshot.close();
      assertTrue(snapshot.isClosed());
      assertEquals(2L, sandbox.call("Increment", ValueType.I64));
      sandbox.restore(snapshot);
      assertEquals(2L, sandbox.call("Increment", ValueType.I64));
      assertThrows(IllegalStateException.class, () -> Sandbox.builder().snapshot(snapshot).build());
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aFaultedSandboxWorksAgainAfterRestore(PrivilegeLevel level) {
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.FAULTS, level).build();
        Snapshot snapshot = sandbox.snapshot()) {
      assertThrows(GuestFaultException.class, () -> sandbox.call("NullDeref", ValueType.I32));
      assertTrue(sandbox.isPoisoned());
      assertThrows(SandboxPoisonedException.class, sandbox::snapshot);
      sandbox.restore(snapshot);
      assertFalse(sandbox.isPoisoned());
      assertEquals(1, sandbox.call("CallUnregisteredHost", ValueType.I32));
      assertThrows(GuestFaultException.class, () -> sandbox.call("DivideByZero", ValueType.I32));
      sandbox.restore(snapshot);
      assertEquals(1, sandbox.call("CallUnregisteredHost", ValueType.I32));
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void restoreAfterEachCallStartsEveryCallFromThePristineState(PrivilegeLevel level) {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.STATE, level).restoreAfterEachCall(true).build()) {
      for (int i = 0; i < 5; i++) {
        assertEquals(1L, sandbox.call("Increment", ValueType.I64));
        assertEquals(1000L, sandbox.call("Allocate", ValueType.I64, 1000));
      }
      assertThrows(
          CallTimeoutException.class,
          () -> sandbox.call(Duration.ofMillis(20), "Spin", ValueType.VOID));
      assertFalse(sandbox.isPoisoned(), "restored after the timeout");
      assertEquals(1L, sandbox.call("Increment", ValueType.I64));
    }
  }

  @Test
  void aSnapshotOfAnotherGuestIsRefused() {
    try (Sandbox state = state(PrivilegeLevel.USER);
        Sandbox hello = TestSandboxes.builder(SampleGuests.HELLO, PrivilegeLevel.USER).build();
        Snapshot snapshot = hello.snapshot()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> state.restore(snapshot));
      assertTrue(e.getMessage().contains("other functions"), e.getMessage());
      assertEquals(1L, state.call("Increment", ValueType.I64), "the sandbox is unharmed");
    }
  }

  @Test
  void aBuilderWithASnapshotRefusesAGuestOrSizes() {
    try (Sandbox template = state(PrivilegeLevel.USER);
        Snapshot snapshot = template.snapshot()) {
      assertThrows(
          IllegalStateException.class,
          () -> Sandbox.builder().snapshot(snapshot).memorySize(16 << 20).build());
      assertThrows(
          IllegalStateException.class,
          () ->
              Sandbox.builder()
                  .snapshot(snapshot)
                  .guest(SampleGuests.load(SampleGuests.HELLO))
                  .build());
    }
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void anInterruptedCallThrowsAndTheSandboxWorksAfterRestore(PrivilegeLevel level)
      throws Exception {
    ScheduledExecutorService killer = Executors.newSingleThreadScheduledExecutor();
    try (Sandbox sandbox = state(level);
        Snapshot snapshot = sandbox.snapshot()) {
      InterruptHandle handle = sandbox.interruptHandle();
      handle.interrupt(); // no call running: nothing happens, the next call is unaffected
      assertEquals(1L, sandbox.call("Increment", ValueType.I64));
      CountDownLatch started = new CountDownLatch(1);
      Future<?> interrupting =
          killer.submit(
              () -> {
                started.await();
                Thread.sleep(50);
                handle.interrupt();
                return null;
              });
      started.countDown();
      assertThrows(ExecutionCancelledException.class, () -> sandbox.call("Spin", ValueType.VOID));
      interrupting.get(10, TimeUnit.SECONDS);
      assertTrue(sandbox.isPoisoned());
      sandbox.restore(snapshot);
      assertEquals(1L, sandbox.call("Increment", ValueType.I64));
    } finally {
      killer.shutdownNow();
    }
  }
}
