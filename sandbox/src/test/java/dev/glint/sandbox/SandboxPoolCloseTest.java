package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Closing a {@link SandboxPool}: it refuses acquires at once, waits for the leases out, stops them
 * after a timeout, and frees every VM (file descriptors back to where they were before the pool).
 */
@Timeout(60)
class SandboxPoolCloseTest {

  private static Sandbox.Builder state() {
    return TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER);
  }

  /**
   * Builds and closes a pool once, so that what the first use opens for good (class files in jars,
   * the call timer's thread) is open before a test counts descriptors.
   */
  @BeforeEach
  void warmUp() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(2).build();
        SandboxLease lease = pool.acquire()) {
      lease.call(Duration.ofSeconds(5), "Increment", ValueType.I64);
    }
  }

  @Test
  void closeWaitsForTheLeaseOutThenFreesEveryVm() throws Exception {
    long before = OpenFileDescriptors.count();
    SandboxPool pool = SandboxPool.builder(state()).minIdle(2).maxSize(2).build();
    CountDownLatch leased = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    try (ExecutorService threads = Executors.newFixedThreadPool(2)) {
      Future<Long> user =
          threads.submit(
              () -> {
                try (SandboxLease lease = pool.acquire()) {
                  lease.call("Increment", ValueType.I64);
                  leased.countDown();
                  finish.await();
                  // Still usable while the pool closes: the lease was taken before.
                  return lease.call("Increment", ValueType.I64);
                }
              });
      assertTrue(leased.await(10, TimeUnit.SECONDS));
      Future<?> closing = threads.submit(() -> pool.close());
      assertThrows(TimeoutException.class, () -> closing.get(300, TimeUnit.MILLISECONDS));
      assertTrue(pool.isClosed());
      long start = System.nanoTime();
      IllegalStateException refused = assertThrows(IllegalStateException.class, pool::acquire);
      assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1), "refused at once");
      PoolStats closingStats = pool.stats();
      assertEquals(0, closingStats.idle(), "idle sandboxes are closed at once");
      assertEquals(1, closingStats.inUse());
      finish.countDown();
      assertEquals(2L, user.get(10, TimeUnit.SECONDS));
      closing.get(10, TimeUnit.SECONDS);
    }
    PoolStats stats = pool.stats();
    assertEquals(0, stats.size());
    assertEquals(0, stats.replaced(), "closing is not replacing");
    long after = OpenFileDescriptors.awaitAtMost(before, Duration.ofSeconds(2));
    assertEquals(before, after, "file descriptors before the pool and after its close");
  }

  @Test
  void closeWithATimeoutStopsASandboxStillLeasedAndItsCall() throws Exception {
    long before = OpenFileDescriptors.count();
    SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
    CountDownLatch leased = new CountDownLatch(1);
    SandboxLease[] lease = new SandboxLease[1];
    try (ExecutorService thread = Executors.newSingleThreadExecutor()) {
      Future<?> spinning =
          thread.submit(
              () -> {
                lease[0] = pool.acquire();
                leased.countDown();
                return lease[0].call("Spin", ValueType.VOID);
              });
      assertTrue(leased.await(10, TimeUnit.SECONDS));
      Thread.sleep(50);
      long start = System.nanoTime();
      assertFalse(pool.close(Duration.ofMillis(200)), "the lease was not released in time");
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(tookMillis >= 200 && tookMillis < 5000, "close took " + tookMillis + " ms");
      ExecutionException stopped =
          assertThrows(ExecutionException.class, () -> spinning.get(5, TimeUnit.SECONDS));
      assertTrue(
          stopped.getCause() instanceof SandboxException e && e.poisons(),
          () -> "the call was stopped: " + stopped.getCause());
    }
    assertThrows(IllegalStateException.class, () -> lease[0].call("Increment", ValueType.I64));
    assertEquals(1, pool.stats().inUse(), "the lease is out until released");
    lease[0].close();
    assertEquals(0, pool.stats().inUse());
    assertTrue(pool.close(Duration.ZERO), "nothing left to wait for");
    long after = OpenFileDescriptors.awaitAtMost(before, Duration.ofSeconds(2));
    assertEquals(before, after, "file descriptors before the pool and after its close");
  }

  @Test
  void aThreadWaitingToAcquireFailsWhenThePoolCloses() throws Exception {
    SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      SandboxLease held = pool.acquire();
      Future<SandboxLease> waiter = threads.submit(() -> pool.acquire(Duration.ofSeconds(30)));
      SandboxPoolTest.awaitStats(pool, s -> s.waiting() == 1);
      Future<?> closing = threads.submit(() -> pool.close());
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> waiter.get(5, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof IllegalStateException, () -> "got " + e.getCause());
      assertFalse(closing.isDone(), "close still waits for the lease held");
      held.close();
      closing.get(10, TimeUnit.SECONDS);
    }
    assertEquals(0, pool.stats().size());
  }

  @Test
  void anInterruptedCloseStopsTheLeasedSandboxAndKeepsTheInterrupt() throws Exception {
    long before = OpenFileDescriptors.count();
    SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(1).build();
    SandboxLease held = pool.acquire();
    CountDownLatch returned = new CountDownLatch(1);
    boolean[] interruptKept = new boolean[1];
    Thread closer =
        Thread.ofPlatform()
            .start(
                () -> {
                  pool.close();
                  interruptKept[0] = Thread.currentThread().isInterrupted();
                  returned.countDown();
                });
    Thread.sleep(100);
    assertEquals(1, returned.getCount(), "close waits");
    closer.interrupt();
    assertTrue(returned.await(5, TimeUnit.SECONDS));
    closer.join();
    assertTrue(interruptKept[0], "the interrupt status is set again");
    assertThrows(IllegalStateException.class, () -> held.call("Increment", ValueType.I64));
    held.close();
    assertEquals(0, pool.stats().size());
    long after = OpenFileDescriptors.awaitAtMost(before, Duration.ofSeconds(2));
    assertEquals(before, after);
  }
}
