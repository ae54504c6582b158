package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.guest.SampleGuests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Chaos on shared pools (docs/reliability.md): 64 callers, half on virtual threads and half on
 * platform threads, call {@code Work(n)} of the {@code state} guest through two pools, each call
 * with its own {@code n}, while a killer thread interrupts random running calls and a reopener
 * closes a random pool (stopping the calls still in it after 50 ms) and puts a new one in its
 * place.
 *
 * <p>Every call must end, within the test's bound, in one of: the right result for its own argument
 * (never another caller's), {@link ExecutionCancelledException} from the killer, or a closed-pool
 * failure from the reopener. Afterwards every pool is closed and the process has the file
 * descriptors it had before. A call that does not end in time is a deadlock: the test fails with
 * every thread's stack.
 */
@Timeout(120)
class PoolChaosTest {
  private static final int CALLERS = 64;
  private static final int POOLS = 2;
  private static final Duration LOAD = Duration.ofSeconds(8);

  /** How long every caller gets to finish once the load ends, before it counts as a deadlock. */
  private static final Duration BOUND = Duration.ofSeconds(60);

  private static SandboxPool newPool() {
    return SandboxPool.builder(TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER))
        .minIdle(2)
        .maxSize(4)
        .acquireTimeout(Duration.ofSeconds(10))
        .build();
  }

  @Test
  void sixtyFourCallersKillerAndReopenerLoseNoResultAndDeliverNoneToAnotherCaller()
      throws Exception {
    try (SandboxPool warm = newPool()) {
      warm.call("Work", ValueType.I64, 10L);
    }
    long descriptorsBefore = OpenFileDescriptors.awaitAtMost(0, Duration.ofMillis(100));
    AtomicReferenceArray<SandboxPool> pools = new AtomicReferenceArray<>(POOLS);
    for (int i = 0; i < POOLS; i++) {
      pools.set(i, newPool());
    }
    AtomicReferenceArray<InterruptHandle> running = new AtomicReferenceArray<>(CALLERS);
    LongAdder right = new LongAdder();
    LongAdder cancelled = new LongAdder();
    LongAdder closed = new LongAdder();
    LongAdder exhausted = new LongAdder();
    LongAdder interrupts = new LongAdder();
    AtomicLong reopened = new AtomicLong();
    Map<String, Throwable> unexpected = new ConcurrentHashMap<>();
    List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    long end = System.nanoTime() + LOAD.toNanos();

    ExecutorService platform = Executors.newFixedThreadPool(CALLERS / 2 + 2);
    ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor();
    List<Future<long[]>> callers = new ArrayList<>();
    for (int c = 0; c < CALLERS; c++) {
      int caller = c;
      ExecutorService executor = c % 2 == 0 ? virtual : platform;
      callers.add(
          executor.submit(
              () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long calls = 0;
                while (System.nanoTime() < end) {
                  calls++;
                  // Each call's own argument: distinct per caller and call, so a result meant for
                  // another caller cannot pass the check.
                  long n = caller * 1_000_003L + calls * 7 + random.nextInt(20_000);
                  SandboxPool pool = pools.get(random.nextInt(POOLS));
                  try (SandboxLease lease = pool.acquire()) {
                    running.set(caller, lease.interruptHandle());
                    try {
                      long result = lease.call("Work", ValueType.I64, n);
                      if (result == Xorshift.work(n)) {
                        right.increment();
                      } else {
                        wrong.add("caller %d: Work(%d) returned %d".formatted(caller, n, result));
                      }
                    } finally {
                      running.set(caller, null);
                    }
                  } catch (ExecutionCancelledException e) {
                    cancelled.increment();
                  } catch (PoolExhaustedException e) {
                    exhausted.increment();
                  } catch (IllegalStateException | ProtocolViolationException e) {
                    // The reopener closed the pool: before the acquire ("closed"), or while the
                    // call ran in a sandbox it had to stop ("closed while the guest ran").
                    if (e.getMessage() == null || !e.getMessage().contains("closed")) {
                      unexpected.putIfAbsent("caller " + caller + ": " + e, e);
                    }
                    closed.increment();
                  } catch (RuntimeException e) {
                    unexpected.putIfAbsent("caller " + caller + ": " + e, e);
                  }
                }
                return new long[] {calls};
              }));
    }
    Future<?> killer =
        platform.submit(
            () -> {
              ThreadLocalRandom random = ThreadLocalRandom.current();
              while (!stop.get()) {
                LockSupport.parkNanos(random.nextLong(1_000_000, 5_000_000));
                InterruptHandle handle = running.get(random.nextInt(CALLERS));
                if (handle != null) {
                  handle.interrupt();
                  interrupts.increment();
                }
              }
              return null;
            });
    Future<?> reopener =
        platform.submit(
            () -> {
              ThreadLocalRandom random = ThreadLocalRandom.current();
              while (!stop.get()) {
                LockSupport.parkNanos(random.nextLong(100_000_000, 300_000_000));
                int slot = random.nextInt(POOLS);
                SandboxPool old = pools.getAndSet(slot, newPool());
                old.close(Duration.ofMillis(50));
                reopened.incrementAndGet();
              }
              return null;
            });

    long calls = 0;
    long deadline = System.nanoTime() + LOAD.toNanos() + BOUND.toNanos();
    try {
      for (Future<long[]> f : callers) {
        calls += f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)[0];
      }
    } catch (java.util.concurrent.TimeoutException e) {
      fail(
          "a caller did not finish within "
              + BOUND
              + " after the load: deadlock?\n"
              + threadDump());
    } finally {
      stop.set(true);
    }
    killer.get(10, TimeUnit.SECONDS);
    reopener.get(10, TimeUnit.SECONDS);
    platform.shutdown();
    virtual.shutdown();
    assertTrue(platform.awaitTermination(10, TimeUnit.SECONDS), threadDump());
    assertTrue(virtual.awaitTermination(10, TimeUnit.SECONDS), threadDump());
    for (int i = 0; i < POOLS; i++) {
      pools.get(i).close();
    }

    System.out.printf(
        "pool chaos: %d calls by %d callers in %s: %d right, %d cancelled, %d stopped by a pool"
            + " close, %d acquire timeouts; %d interrupts sent, %d pools reopened%n",
        calls,
        CALLERS,
        LOAD,
        right.sum(),
        cancelled.sum(),
        closed.sum(),
        exhausted.sum(),
        interrupts.sum(),
        reopened.get());
    assertEquals(Map.of(), unexpected, "unexpected failures");
    assertEquals(List.of(), wrong, "results delivered to the wrong caller, or wrong");
    assertEquals(
        calls, right.sum() + cancelled.sum() + closed.sum() + exhausted.sum(), "lost results");
    // How many finish depends on the machine's load against the killer's pace: only require that
    // the pools kept serving.
    assertTrue(right.sum() >= calls / 10, "calls returned their result: " + right.sum());
    assertTrue(cancelled.sum() > 0, "the killer cancelled some calls");
    assertTrue(reopened.get() > 0, "the reopener replaced some pools");
    long after = OpenFileDescriptors.awaitAtMost(descriptorsBefore, Duration.ofSeconds(5));
    assertTrue(
        after <= descriptorsBefore,
        "file descriptors: %d before, %d after".formatted(descriptorsBefore, after));
  }

  /** {@return the stacks of every platform thread (virtual ones are not listed by the JDK)} */
  private static String threadDump() {
    StringBuilder out = new StringBuilder();
    Thread.getAllStackTraces()
        .forEach(
            (thread, stack) -> {
              out.append(thread).append(' ').append(thread.getState()).append('\n');
              for (StackTraceElement frame : stack) {
                out.append("    at ").append(frame).append('\n');
              }
            });
    return out.toString();
  }
}
