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

  /** xorshift64 from the state guest's seed, {@code rounds} times: what {@code Work} returns. */
  static long work(long rounds) {
    long x = 0x9E3779B97F4A7C15L;
    for (long i = 0; i < rounds; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
    }
    return x;
  }

  /**
   * A cancel storm: a killer thread interrupts at random moments while calls of random length run;
   * every call either returns the right value or throws {@link ExecutionCancelledException}, and
   * after each interrupted call a restore makes the sandbox work again.
   */
  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aCancelStormLeavesTheSandboxUsableAfterRestore(PrivilegeLevel level) throws Exception {
    java.util.Random random = new java.util.Random(42);
    // Calls at CPL 0 run emulated here (and every call on an interpreting backend), about a
    // millisecond each: less work, and interrupt less often there.
    boolean interprets = TestSandboxes.backendInterprets();
    boolean fast = level == PrivilegeLevel.USER && !interprets;
    int calls = fast ? 400 : interprets ? 100 : 40;
    // An interpreter runs 2,000 rounds in tens of microseconds: more work (up to a few
    // milliseconds a call), so that interrupts land in some calls and miss others.
    long maxRounds = fast ? 2_000_000 : interprets ? 20_000 : 2_000;
    int maxPauseNanos = fast ? 300_000 : 10_000_000;
    java.util.concurrent.atomic.AtomicBoolean done =
        new java.util.concurrent.atomic.AtomicBoolean();
    try (Sandbox sandbox = state(level);
        Snapshot snapshot = sandbox.snapshot()) {
      InterruptHandle handle = sandbox.interruptHandle();
      Thread killer =
          Thread.ofPlatform()
              .start(
                  () -> {
                    java.util.Random pace = new java.util.Random(7);
                    while (!done.get()) {
                      java.util.concurrent.locks.LockSupport.parkNanos(pace.nextInt(maxPauseNanos));
                      handle.interrupt();
                    }
                  });
      int cancelled = 0;
      int returned = 0;
      long counter = 0; // the state guest's counter, as the calls that returned left it
      try {
        for (int i = 0; i < calls; i++) {
          long rounds = (long) (random.nextDouble() * maxRounds);
          try {
            assertEquals(work(rounds), sandbox.call("Work", ValueType.I64, rounds));
            assertEquals(counter + 1, sandbox.call("Increment", ValueType.I64));
            counter++;
            returned++;
          } catch (ExecutionCancelledException e) {
            cancelled++;
            assertTrue(sandbox.isPoisoned());
            sandbox.restore(snapshot);
            counter = 0;
          }
        }
      } finally {
        done.set(true);
        killer.join();
      }
      assertTrue(cancelled > 0, "the storm interrupted no call");
      assertTrue(returned > 0, "no call survived the storm");
      sandbox.restore(snapshot);
      assertEquals(1L, sandbox.call("Increment", ValueType.I64));
      assertEquals(work(1000), sandbox.call("Work", ValueType.I64, 1000L));
    }
  }
}
