package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A {@link SandboxPool} under load on KVM at CPL 3: many platform or virtual threads calling the
 * {@code state} guest's {@code Increment} through the pool lose no call, always find a restored
 * sandbox (the result is 1 every time), and leave the pool at its size and the process at its file
 * descriptors; a storm of interrupts at random moments leaves every call right or cancelled, and
 * every sandbox pristine.
 */
@Timeout(120)
class SandboxPoolLoadTest {
  private static Sandbox.Builder state() {
    return TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER);
  }

  /** Opens for good what a first pool opens (class files in jars, timer threads) before counts. */
  @BeforeEach
  void warmUp() throws Exception {
    try (SandboxPool pool = SandboxPool.builder(state()).minIdle(1).maxSize(2).build();
        SandboxLease lease = pool.acquire()) {
      lease.call(Duration.ofSeconds(5), "Increment", ValueType.I64);
      lease.interruptHandle().interrupt();
    }
  }

  @Test
  void sixteenThreadsTimesTenThousandCallsLoseNoCallAndLeakNoVm() throws Exception {
    runLoad(Executors.newFixedThreadPool(16), 16, 10_000, "16 platform threads");
  }

  @Test
  void sixtyFourVirtualThreadsTimesFiveHundredCalls() throws Exception {
    runLoad(Executors.newVirtualThreadPerTaskExecutor(), 64, 500, "64 virtual threads");
  }

  /**
   * {@code threads} tasks of {@code calls} {@code Increment} calls each through a pool of 4: each
   * must return 1; afterwards the pool holds its 4 sandboxes, none in use, and the process its
   * descriptors of before the pool once it is closed.
   */
  private static void runLoad(ExecutorService executor, int threads, int calls, String what)
      throws Exception {
    int size = 4;
    long before = OpenFileDescriptors.count();
    SandboxPool pool =
        SandboxPool.builder(state())
            .minIdle(size)
            .maxSize(size)
            .acquireTimeout(Duration.ofSeconds(30))
            .build();
    long withPool = OpenFileDescriptors.count();
    AtomicLong done = new AtomicLong();
    AtomicLong wrong = new AtomicLong();
    long start = System.nanoTime();
    try (executor) {
      List<Future<?>> tasks = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        tasks.add(
            executor.submit(
                () -> {
                  for (int i = 0; i < calls; i++) {
                    if (pool.call("Increment", ValueType.I64) != 1L) {
                      wrong.incrementAndGet();
                    }
                    done.incrementAndGet();
                  }
                  return null;
                }));
      }
      for (Future<?> task : tasks) {
        get(task);
      }
    }
    long elapsed = System.nanoTime() - start;
    long total = (long) threads * calls;
    System.out.printf(
        "%s x %d pool calls: %d ms (%.1f us a call)%n",
        what, calls, elapsed / 1_000_000, elapsed / 1e3 / total);
    assertEquals(total, done.get(), "every call returned");
    assertEquals(0, wrong.get(), "every call found a restored sandbox");
    PoolStats stats = pool.stats();
    assertEquals(total, stats.acquired(), "one lease a call: none lost");
    assertEquals(new PoolStats(size, size, 0, 0, total, 0, 0, 0), stats);
    assertEquals(withPool, OpenFileDescriptors.count(), "VMs back to the pool's size");
    pool.close();
    assertEquals(0, pool.stats().size());
    long after = OpenFileDescriptors.awaitAtMost(before, Duration.ofSeconds(2));
    assertEquals(before, after, "file descriptors before the pool and after its close");
  }

  @Test
  void aStormOfInterruptsLeavesEveryCallRightOrCancelledAndEverySandboxPristine() throws Exception {
    int size = 3;
    int workers = 6;
    int leasesPerWorker = 150;
    long before = OpenFileDescriptors.count();
    SandboxPool pool = SandboxPool.builder(state()).minIdle(size).maxSize(size).build();
    AtomicReferenceArray<InterruptHandle> running = new AtomicReferenceArray<>(workers);
    AtomicLong right = new AtomicLong();
    AtomicLong cancelled = new AtomicLong();
    AtomicLong wrong = new AtomicLong();
    AtomicLong interrupts = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    long maxIterations = TestSandboxes.backendInterprets() ? 10_000 : 2_000_000;
    long start = System.nanoTime();
    try (ExecutorService threads = Executors.newFixedThreadPool(workers + 1)) {
      Future<?> killer =
          threads.submit(
              () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (!stop.get()) {
                  LockSupport.parkNanos(random.nextLong(3_000_000));
                  InterruptHandle handle = running.get(random.nextInt(workers));
                  if (handle != null) {
                    handle.interrupt();
                    interrupts.incrementAndGet();
                  }
                }
                return null;
              });
      List<Future<?>> tasks = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        int slot = w;
        tasks.add(
            threads.submit(
                () -> {
                  ThreadLocalRandom random = ThreadLocalRandom.current();
                  for (int i = 0; i < leasesPerWorker; i++) {
                    // An interpreter runs Work far slower: less of it, so that some calls still
                    // finish between interrupts.
                    long iterations = random.nextLong(maxIterations);
                    try (SandboxLease lease = pool.acquire()) {
                      running.set(slot, lease.interruptHandle());
                      try {
                        long result = lease.call("Work", ValueType.I64, iterations);
                        if (result == Xorshift.work(iterations)) {
                          right.incrementAndGet();
                        } else {
                          wrong.incrementAndGet();
                        }
                      } catch (ExecutionCancelledException e) {
                        cancelled.incrementAndGet();
                      } finally {
                        running.set(slot, null);
                      }
                    }
                  }
                  return null;
                }));
      }
      try {
        for (Future<?> task : tasks) {
          get(task);
        }
      } finally {
        stop.set(true);
      }
      get(killer);
    }
    long elapsed = System.nanoTime() - start;
    System.out.printf(
        "interrupt storm: %d calls, %d right, %d cancelled, %d interrupts sent, %d ms%n",
        workers * leasesPerWorker,
        right.get(),
        cancelled.get(),
        interrupts.get(),
        elapsed / 1_000_000);
    assertEquals(0, wrong.get(), "no call returned a wrong value");
    assertEquals(workers * leasesPerWorker, right.get() + cancelled.get());
    assertTrue(cancelled.get() > 0, "the storm cancelled some calls");
    assertTrue(right.get() > 0, "and some calls finished");
    PoolStats stats = SandboxPoolTest.awaitStats(pool, s -> s.building() == 0);
    assertEquals(cancelled.get(), stats.replaced(), "each cancelled call's sandbox was replaced");
    assertEquals(0, stats.inUse());
    assertEquals(stats.created(), stats.idle() + stats.replaced(), "no sandbox lost");
    // Every sandbox of the pool, at once: each is as the snapshot left it.
    List<SandboxLease> all = new ArrayList<>();
    try {
      for (int i = 0; i < size; i++) {
        all.add(pool.acquire());
      }
      for (SandboxLease lease : all) {
        assertEquals(0L, lease.call("Counter", ValueType.I64));
        assertEquals(1L, lease.call("Increment", ValueType.I64));
        assertEquals(Xorshift.work(1000), lease.call("Work", ValueType.I64, 1000L));
      }
    } finally {
      all.forEach(SandboxLease::close);
    }
    pool.close();
    long after = OpenFileDescriptors.awaitAtMost(before, Duration.ofSeconds(2));
    assertEquals(before, after, "file descriptors before the pool and after its close");
  }

  private static void get(Future<?> future) throws Exception {
    try {
      future.get(100, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }
}
