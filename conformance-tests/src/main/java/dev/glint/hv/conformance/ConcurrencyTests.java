package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Capability;
import dev.glint.hv.Register;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cancelling a running vCPU from another thread ({@link Capability#CANCEL}), and partitions running
 * in parallel. vCPUs run on platform threads, as the SPI asks.
 */
public abstract class ConcurrencyTests extends ConformanceTestBase {

  /** How soon a cancelled run must return. */
  static final Duration CANCEL_DEADLINE = Duration.ofMillis(50);

  /** How many interrupts a test may try before it must have seen one meet the deadline. */
  static final int CANCEL_ATTEMPTS = 3;

  /** How long the guest spins before the interrupt, so that it is surely inside the guest. */
  private static final long SPIN_BEFORE_INTERRUPT_MS = 20;

  /** Creates the test instance; JUnit calls it. */
  protected ConcurrencyTests() {}

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void interruptCancelsASpinningGuestPromptlyAndTheGuestThenContinues(TestGuest.Privilege privilege)
      throws Exception {
    requires(Capability.CANCEL);
    requires(privilege);
    ExecutorService vcpuThread = platformThreads(1);
    try (TestGuest guest = longModeGuest()) {
      long flag = TestGuest.USER_DATA;
      guest.start(privilege, GuestPrograms.SPIN_UNTIL_FLAG, r -> r.with(Register.RBX, flag));
      VcpuInterrupter interrupter = guest.vcpu.interrupter();
      call(vcpuThread, () -> guest.runExpectingOut(0x10, 1, 0));

      assertCancelledPromptly(interrupter, () -> vcpuThread.submit(guest.vcpu::run));
      long rip = guest.vcpu.registers().rip();
      long loopStart = guest.codeAddress(privilege) + GuestPrograms.SPIN_LOOP_START;
      long loopEnd = guest.codeAddress(privilege) + GuestPrograms.SPIN_LOOP_END;
      assertTrue(
          rip >= loopStart && rip < loopEnd,
          () ->
              "RIP 0x%x after the cancel should be inside the spin loop [0x%x, 0x%x)"
                  .formatted(rip, loopStart, loopEnd));

      // The guest is still in its loop; released, it continues where it stopped.
      guest.ram.segment().set(ValueLayout.JAVA_BYTE, flag, (byte) 1);
      call(vcpuThread, () -> guest.runExpectingOut(0x11, 4, 0x600D));
    } finally {
      vcpuThread.shutdownNow();
    }
  }

  @Test
  void interruptReachesARunOnAnotherThreadThanTheRunBefore() throws Exception {
    requires(Capability.CANCEL);
    ExecutorService first = platformThreads(1);
    ExecutorService second = platformThreads(1);
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(
          GuestPrograms.SPIN_UNTIL_FLAG, r -> r.with(Register.RBX, TestGuest.USER_DATA));
      call(first, () -> guest.runExpectingOut(0x10, 1, 0));
      assertCancelledPromptly(guest.vcpu.interrupter(), () -> second.submit(guest.vcpu::run));
    } finally {
      first.shutdownNow();
      second.shutdownNow();
    }
  }

  @Test
  void interruptWithNoRunInProgressCancelsTheNextRunBeforeTheGuestRuns() {
    requires(Capability.CANCEL);
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.OUT_SIZES, r -> r);
      guest.vcpu.interrupter().interrupt();
      guest.run(VcpuExit.Cancelled.class);
      assertEquals(TestGuest.KERNEL_CODE, guest.vcpu.registers().rip(), "no instruction ran");
      guest.runExpectingOut(0x40, 1, 0xDD);
    }
  }

  /**
   * An answer given with {@code completeIoIn} or {@code completeMmioRead} survives a run that was
   * cancelled before it entered the guest: the guest sees it on the run after.
   */
  @Test
  void answersSurviveACancelledRun() {
    requires(Capability.CANCEL);
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.IN_SIZES, r -> r);
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      guest.vcpu.completeIoIn(0xAB);
      guest.vcpu.interrupter().interrupt();
      guest.run(VcpuExit.Cancelled.class);
      guest.runExpecting(new VcpuExit.IoIn(0x51, 2));
      assertEquals(0xAB, guest.vcpu.registers().rbx() & 0xFF, "the in answered before the cancel");
    }
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.LOAD_FROM_RBX, r -> r.with(Register.RBX, TestGuest.MMIO));
      guest.runExpecting(new VcpuExit.MmioRead(TestGuest.MMIO, 8));
      guest.vcpu.completeMmioRead(0x0123_4567_89AB_CDEFL);
      guest.vcpu.interrupter().interrupt();
      guest.run(VcpuExit.Cancelled.class);
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x0123_4567_89AB_CDEFL, guest.vcpu.registers().rax(), "the MMIO read answer");
    }
  }

  @Test
  void interruptAfterTheVcpuClosedDoesNothing() {
    requires(Capability.CANCEL);
    try (TestGuest guest = longModeGuest()) {
      VcpuInterrupter interrupter = guest.vcpu.interrupter();
      guest.vcpu.close();
      interrupter.interrupt();
      interrupter.interrupt();
    }
  }

  @Test
  void eightPartitionsRunOnEightThreadsAtOnce() throws Exception {
    int count = 8;
    ExecutorService threads = platformThreads(count);
    CyclicBarrier start = new CyclicBarrier(count);
    try {
      List<Future<Long>> sums = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        long n = 1000 + 100 * i;
        sums.add(
            threads.submit(
                () -> {
                  try (TestGuest guest = longModeGuest()) {
                    guest.startKernel(GuestPrograms.SUM_TO_RCX, r -> r.with(Register.RCX, n));
                    start.await(10, TimeUnit.SECONDS); // all created before any runs
                    guest.run(VcpuExit.Halt.class);
                    return guest.vcpu.registers().rax();
                  }
                }));
      }
      for (int i = 0; i < count; i++) {
        long n = 1000 + 100 * i;
        assertEquals(n * (n + 1) / 2, sums.get(i).get(60, TimeUnit.SECONDS), "partition " + i);
      }
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * Interrupts a spinning run, up to {@value #CANCEL_ATTEMPTS} times: every run must return {@code
   * Cancelled} (within 5 s), and at least one within {@link #CANCEL_DEADLINE}. The allowance is for
   * the host, not the backend: on a small machine under load (two cores, parallel builds) a thread
   * can wait tens of milliseconds for a CPU after the kick; a backend that cannot cancel promptly
   * (a lost kick, a polling fallback) misses the deadline every time.
   *
   * @param startRun starts one {@code run()} of the spinning guest on its vCPU thread
   */
  private static void assertCancelledPromptly(
      VcpuInterrupter interrupter, Supplier<Future<VcpuExit>> startRun) throws Exception {
    List<Long> latenciesMicros = new ArrayList<>();
    for (int attempt = 0; attempt < CANCEL_ATTEMPTS; attempt++) {
      Future<VcpuExit> run = startRun.get();
      Thread.sleep(SPIN_BEFORE_INTERRUPT_MS);
      assertFalse(run.isDone(), () -> "the guest should still be spinning, but run() returned");
      long start = System.nanoTime();
      interrupter.interrupt();
      VcpuExit exit;
      try {
        exit = run.get(5, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        interrupter.interrupt(); // once more, so the vCPU thread does not spin on forever
        throw new AssertionError("run() did not return within 5 s of interrupt()", e);
      }
      long micros = (System.nanoTime() - start) / 1000;
      assertInstanceOf(VcpuExit.Cancelled.class, exit, () -> TestGuest.describe(exit));
      latenciesMicros.add(micros);
      if (micros < CANCEL_DEADLINE.toNanos() / 1000) {
        return;
      }
    }
    fail(
        "run() returned %s µs after interrupt(); it must within %d ms"
            .formatted(latenciesMicros, CANCEL_DEADLINE.toMillis()));
  }

  private static ExecutorService platformThreads(int count) {
    return Executors.newFixedThreadPool(
        count, Thread.ofPlatform().name("conformance-vcpu-", 0).daemon().factory());
  }

  private static void call(ExecutorService thread, Runnable action) throws Exception {
    Callable<Void> callable =
        () -> {
          action.run();
          return null;
        };
    try {
      thread.submit(callable).get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      // Report the guest's assertion failure itself, not its wrapper.
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }
}
