package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link SandboxPool} on KVM with the {@code state}, {@code faults} and {@code hello} guests:
 * leases see a restored sandbox, idle sandboxes are kept and topped up, acquires time out with
 * {@link PoolExhaustedException}, a sandbox whose call faulted, timed out or was interrupted is
 * replaced, the template's settings carry over, the acquire event is recorded.
 */
@Timeout(60)
class SandboxPoolTest {

  private static Sandbox.Builder state() {
    return TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER);
  }

  /** Waits (polling) until the pool's stats satisfy {@code condition}; fails after 10 s. */
  static PoolStats awaitStats(SandboxPool pool, Predicate<PoolStats> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    PoolStats stats = pool.stats();
    while (!condition.test(stats)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the pool's stats did not get there: " + stats);
      }
      Thread.sleep(5);
      stats = pool.stats();
    }
    return stats;
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void whatALeaseWroteIsGoneForTheNextLease(PrivilegeLevel level) throws Exception {
    try (SandboxPool pool =
        SandboxPool.builder(TestSandboxes.builder(SampleGuests.STATE, level))
            .minIdle(1)
            .maxSize(1)
            .build()) {
      assertEquals(level, pool.privilegeLevel());
      assertEquals(7, pool.functions().size());
      try (SandboxLease lease = pool.acquire()) {
        assertEquals(pool.functions(), lease.functions());
        assertEquals(1L, lease.call("Increment", ValueType.I64));
        assertEquals(2L, lease.call("Increment", ValueType.I64), "one lease, one sandbox");
        assertEquals(4096L, lease.call("Allocate", ValueType.I64, 4096));
        assertEquals(64, lease.call("TouchPages", ValueType.I32, 64));
      }
      try (SandboxLease lease = pool.acquire()) {
        assertEquals(0L, lease.call("Counter", ValueType.I64), "the global is the snapshot's");
        assertEquals(0L, lease.call("Allocated", ValueType.I64), "so is the heap");
        assertEquals(1L, lease.call("Increment", ValueType.I64));
      }
      assertEquals(1L, pool.call("Increment", ValueType.I64));
      PoolStats stats = pool.stats();
      assertEquals(new PoolStats(1, 1, 0, 0, 3, 0, 0, 0), stats, "one sandbox, reused");
      assertEquals(1, stats.size());
    }
  }

  @Test
  void minIdleSandboxesAreBuiltWithThePoolAndToppedUpToMaxSize() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(3).maxSize(5).build()) {
      assertEquals(5, pool.maxSize());
      assertEquals(new PoolStats(3, 3, 0, 0, 0, 0, 0, 0), pool.stats());
      List<SandboxLease> leases = new ArrayList<>();
      try {
        leases.add(pool.acquire());
        PoolStats stats = awaitStats(pool, s -> s.idle() == 3 && s.building() == 0);
        assertEquals(4, stats.created(), "one more built to keep 3 idle");
        assertEquals(1, stats.inUse());
        for (int i = 0; i < 4; i++) {
          leases.add(pool.acquire());
        }
        stats = awaitStats(pool, s -> s.building() == 0);
        assertEquals(5, stats.created(), "never more than maxSize");
        assertEquals(0, stats.idle());
        assertEquals(5, stats.inUse());
        assertEquals(5, stats.acquired());
        for (SandboxLease lease : leases) {
          assertEquals(1L, lease.call("Increment", ValueType.I64), "each lease its own sandbox");
        }
      } finally {
        leases.forEach(SandboxLease::close);
      }
      PoolStats stats = pool.stats();
      assertEquals(5, stats.idle());
      assertEquals(0, stats.inUse());
      assertEquals(stats.created(), stats.idle() + stats.inUse() + stats.replaced());
    }
  }

  @Test
  void withMinIdleZeroSandboxesAreBuiltWhenAcquiresNeedThem() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(0).maxSize(2).build()) {
      assertEquals(0, pool.stats().created());
      assertEquals(1L, pool.call("Increment", ValueType.I64));
      assertEquals(new PoolStats(1, 1, 0, 0, 1, 0, 0, 0), pool.stats());
    }
  }

  @Test
  void anAcquireWhileAllAreInUseThrowsPoolExhaustedAfterItsTimeout() throws Exception {
    try (SandboxPool pool =
            SandboxPool.builder(state())
                .minIdle(1)
                .maxSize(1)
                .acquireTimeout(Duration.ofMillis(20))
                .build();
        SandboxLease held = pool.acquire()) {
      long start = System.nanoTime();
      PoolExhaustedException e =
          assertThrows(PoolExhaustedException.class, () -> pool.acquire(Duration.ofMillis(50)));
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(waitedMillis >= 50, "waited " + waitedMillis + " ms");
      assertTrue(waitedMillis < 1000, "not quick: " + waitedMillis + " ms");
      assertEquals(Duration.ofMillis(50), e.timeout());
      assertEquals(1, e.maxSize());
      assertFalse(e.poisons());
      assertTrue(e.getMessage().contains("maxSize"), e.getMessage());
      assertThrows(PoolExhaustedException.class, () -> pool.acquire(Duration.ZERO));
      assertThrows(
          PoolExhaustedException.class,
          () -> pool.call("Increment", ValueType.I64),
          "the builder's acquire timeout");
      assertEquals(3, pool.stats().exhausted());
      assertEquals(1L, held.call("Increment", ValueType.I64), "the lease held is unharmed");
    }
  }

  @Test
  void aWaitingAcquireGetsTheSandboxReleased() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
        ExecutorService thread = Executors.newSingleThreadExecutor()) {
      SandboxLease held = pool.acquire();
      held.call("Increment", ValueType.I64);
      Future<Long> waiter =
          thread.submit(
              () -> {
                try (SandboxLease lease = pool.acquire(Duration.ofSeconds(20))) {
                  return lease.call("Increment", ValueType.I64);
                }
              });
      awaitStats(pool, s -> s.waiting() == 1);
      assertFalse(waiter.isDone());
      held.close();
      assertEquals(1L, waiter.get(5, TimeUnit.SECONDS), "restored before the waiter got it");
      assertEquals(new PoolStats(1, 1, 0, 0, 2, 0, 0, 0), pool.stats());
    }
  }

  @Test
  void anInterruptedAcquireThrowsAndLeavesThePoolUsable() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build()) {
      CountDownLatch failed = new CountDownLatch(1);
      AtomicBoolean interrupted = new AtomicBoolean();
      try (SandboxLease held = pool.acquire()) {
        Thread waiter =
            Thread.ofVirtual()
                .start(
                    () -> {
                      try {
                        pool.acquire(Duration.ofSeconds(20)).close();
                      } catch (InterruptedException e) {
                        interrupted.set(true);
                      } finally {
                        failed.countDown();
                      }
                    });
        awaitStats(pool, s -> s.waiting() == 1);
        waiter.interrupt();
        assertTrue(failed.await(5, TimeUnit.SECONDS));
        assertTrue(interrupted.get(), "InterruptedException");
        assertEquals(0, pool.stats().waiting());
        assertEquals(1L, held.call("Increment", ValueType.I64));
      }
      assertEquals(1L, pool.call("Increment", ValueType.I64));
    }
  }

  @Test
  void aSandboxWhoseCallFaultedIsReplacedNotReused() throws Exception {
    try (SandboxPool pool =
        SandboxPool.builder(TestSandboxes.builder(SampleGuests.FAULTS, PrivilegeLevel.USER))
            .minIdle(1)
            .maxSize(1)
            .build()) {
      try (SandboxLease lease = pool.acquire()) {
        assertThrows(GuestFaultException.class, () -> lease.call("NullDeref", ValueType.I32));
        assertThrows(
            SandboxPoisonedException.class,
            () -> lease.call("CallUnregisteredHost", ValueType.I32),
            "the lease's sandbox stays poisoned until release");
      }
      PoolStats stats = awaitStats(pool, s -> s.building() == 0 && s.idle() == 1);
      assertEquals(1, stats.replaced());
      assertEquals(2, stats.created(), "a new sandbox in its place, to keep minIdle");
      assertEquals(1, pool.call("CallUnregisteredHost", ValueType.I32));
      assertEquals(2, pool.stats().created());
    }
  }

  @Test
  void timedOutAndInterruptedCallsReplaceTheSandbox() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
        ExecutorService killer = Executors.newSingleThreadExecutor()) {
      try (SandboxLease lease = pool.acquire()) {
        assertThrows(
            CallTimeoutException.class,
            () -> lease.call(Duration.ofMillis(20), "Spin", ValueType.VOID));
      }
      assertEquals(1, pool.stats().replaced());
      try (SandboxLease lease = pool.acquire()) {
        InterruptHandle handle = lease.interruptHandle();
        Future<?> interrupting =
            killer.submit(
                () -> {
                  Thread.sleep(50);
                  handle.interrupt();
                  return null;
                });
        assertThrows(ExecutionCancelledException.class, () -> lease.call("Spin", ValueType.VOID));
        interrupting.get(5, TimeUnit.SECONDS);
      }
      PoolStats stats = pool.stats();
      assertEquals(2, stats.replaced());
      assertEquals(1L, pool.call("Increment", ValueType.I64));
    }
  }

  @Test
  void anInterruptHandleOfAReleasedLeaseNeverReachesTheNextLease() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build()) {
      InterruptHandle stale;
      try (SandboxLease lease = pool.acquire()) {
        stale = lease.interruptHandle();
      }
      AtomicBoolean done = new AtomicBoolean();
      Thread hammer =
          Thread.ofPlatform()
              .start(
                  () -> {
                    while (!done.get()) {
                      stale.interrupt();
                      Thread.onSpinWait();
                    }
                  });
      try (SandboxLease lease = pool.acquire()) {
        // The same sandbox (maxSize 1), running long enough to be hit many times over.
        long iterations = 20_000_000;
        assertEquals(Xorshift.work(iterations), lease.call("Work", ValueType.I64, iterations));
      } finally {
        done.set(true);
        hammer.join();
      }
      assertEquals(0, pool.stats().replaced());
    }
  }

  @Test
  void guestErrorsAndRefusedCallsKeepTheSandbox() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build()) {
      try (SandboxLease lease = pool.acquire()) {
        lease.call("Increment", ValueType.I64);
        assertThrows(GuestErrorException.class, () -> lease.call("Work", ValueType.I64, -1L));
        assertThrows(GuestFunctionNotFoundException.class, () -> lease.call("Nope", ValueType.I64));
        assertThrows(TypeMismatchException.class, () -> lease.call("Work", ValueType.I64, 1));
        assertEquals(2L, lease.call("Increment", ValueType.I64), "still usable within the lease");
      }
      assertEquals(1L, pool.call("Increment", ValueType.I64));
      PoolStats stats = pool.stats();
      assertEquals(0, stats.replaced());
      assertEquals(1, stats.created());
    }
  }

  @Test
  void theTemplatesHostFunctionsPrintSinkAndCallTimeoutCarryOver() throws Exception {
    List<String> printed = new CopyOnWriteArrayList<>();
    try (SandboxPool pool =
        SandboxPool.builder(
                TestSandboxes.builder(SampleGuests.HELLO, PrivilegeLevel.USER)
                    .printTo(printed::add))
            .maxSize(2)
            .build()) {
      assertEquals(6, pool.call("PrintOutput", ValueType.I32, "pooled"));
      assertEquals(List.of("pooled"), printed);
    }
    try (SandboxPool pool =
        SandboxPool.builder(
                TestSandboxes.builder(SampleGuests.HELLO, PrivilegeLevel.USER)
                    .hostFunction("HostPrint", ValueType.I32, ValueType.STRING, s -> 1000))
            .build()) {
      assertEquals(1000, pool.call("PrintOutput", ValueType.I32, "x"));
    }
    try (SandboxPool pool =
        SandboxPool.builder(state().callTimeout(Duration.ofMillis(30))).maxSize(1).build()) {
      assertThrows(CallTimeoutException.class, () -> pool.call("Spin", ValueType.VOID));
      assertEquals(1L, pool.call("Increment", ValueType.I64));
      assertEquals(1, pool.stats().replaced());
    }
  }

  @Test
  void aTemplateInRestoreAfterEachCallModeWorksAndIsLeftUsable() throws Exception {
    Sandbox.Builder template = state().restoreAfterEachCall(true);
    try (SandboxPool pool = SandboxPool.builder(template).minIdle(1).maxSize(1).build()) {
      try (SandboxLease lease = pool.acquire()) {
        assertEquals(1L, lease.call("Increment", ValueType.I64));
        assertEquals(1L, lease.call("Increment", ValueType.I64), "each call from the snapshot");
        assertThrows(
            CallTimeoutException.class,
            () -> lease.call(Duration.ofMillis(20), "Spin", ValueType.VOID));
        assertEquals(1L, lease.call("Increment", ValueType.I64), "the mode un-poisons at once");
      }
      assertEquals(1, pool.stats().replaced(), "but the pool replaces it all the same");
      assertEquals(1L, pool.call("Increment", ValueType.I64));
    }
    try (Sandbox sandbox = template.build()) {
      assertEquals(1L, sandbox.call("Increment", ValueType.I64), "the template still builds");
    }
  }

  @Test
  void leasesAndPoolsRefuseUseAfterClose() throws Exception {
    SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
    SandboxLease lease = pool.acquire();
    lease.close();
    lease.close();
    assertTrue(lease.isReleased());
    assertThrows(IllegalStateException.class, () -> lease.call("Increment", ValueType.I64));
    assertThrows(IllegalStateException.class, lease::interruptHandle);
    assertEquals(1, pool.stats().idle(), "released once");
    assertFalse(pool.isClosed());
    pool.close();
    pool.close();
    assertTrue(pool.isClosed());
    assertThrows(IllegalStateException.class, pool::acquire);
    assertThrows(IllegalStateException.class, () -> pool.call("Increment", ValueType.I64));
    assertEquals(0, pool.stats().size());
  }

  @Test
  void theBuilderChecksItsSettings() {
    Sandbox.Builder template = Sandbox.builder();
    SandboxPool.Builder builder = SandboxPool.builder(template);
    assertThrows(IllegalArgumentException.class, () -> builder.minIdle(-1));
    assertThrows(IllegalArgumentException.class, () -> builder.maxSize(0));
    assertThrows(IllegalArgumentException.class, () -> builder.maxSize(4097));
    assertThrows(
        IllegalArgumentException.class, () -> builder.acquireTimeout(Duration.ofMillis(-1)));
    assertThrows(IllegalArgumentException.class, () -> builder.acquireTimeout(Duration.ofDays(2)));
    IllegalArgumentException tooMany =
        assertThrows(IllegalArgumentException.class, () -> builder.minIdle(3).maxSize(2).build());
    assertTrue(tooMany.getMessage().contains("minIdle 3 exceeds maxSize 2"), tooMany.getMessage());
    IllegalStateException noGuest =
        assertThrows(IllegalStateException.class, () -> builder.minIdle(1).build());
    assertTrue(noGuest.getMessage().contains("no guest"), noGuest.getMessage());
    assertThrows(
        GuestImageException.class,
        () -> SandboxPool.builder(Sandbox.builder().guest(Path.of("/nonexistent.elf"))).build());
  }

  @Test
  void anAcquireWithATimeoutOutOfRangeIsRefused() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(0).maxSize(1).build()) {
      assertThrows(IllegalArgumentException.class, () -> pool.acquire(Duration.ofMillis(-1)));
      assertThrows(IllegalArgumentException.class, () -> pool.close(Duration.ofDays(2)));
      assertFalse(pool.isClosed());
      assertEquals(0, pool.stats().acquired());
    }
  }

  @Test
  void acquiresAreRecordedInJfr(@TempDir Path dir) throws Exception {
    TestSandboxes.requireBackend();
    Path file = dir.resolve("pool.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("dev.glint.PoolAcquire");
      recording.start();
      try (SandboxPool pool = SandboxPool.builder(state()).minIdle(0).maxSize(1).build()) {
        try (SandboxLease lease = pool.acquire()) {
          lease.call("Increment", ValueType.I64);
          assertThrows(PoolExhaustedException.class, () -> pool.acquire(Duration.ofMillis(30)));
        }
        pool.call("Increment", ValueType.I64);
      }
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events =
        RecordingFile.readAllEvents(file).stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.PoolAcquire"))
            .sorted(Comparator.comparing(RecordedEvent::getStartTime))
            .toList();
    assertEquals(3, events.size(), () -> "events: " + events);
    RecordedEvent built = events.get(0);
    assertEquals("ok", built.getString("outcome"));
    assertTrue(built.getBoolean("built"), "minIdle 0: the first acquire builds");
    assertEquals(1, built.getInt("poolSize"));
    assertEquals(1, built.getInt("inUse"));
    RecordedEvent exhausted = events.get(1);
    assertEquals("exhausted", exhausted.getString("outcome"));
    assertTrue(exhausted.getDuration().toMillis() >= 30, "the wait is the duration");
    RecordedEvent reused = events.get(2);
    assertEquals("ok", reused.getString("outcome"));
    assertFalse(reused.getBoolean("built"));
    assertNotEquals(0, reused.getDuration().toNanos());
  }
}
