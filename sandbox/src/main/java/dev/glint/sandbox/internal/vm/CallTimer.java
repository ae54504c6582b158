package dev.glint.sandbox.internal.vm;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The one daemon thread that fires call timeouts for every sandbox in the JVM: a timeout only asks
 * the vCPU to stop (a cheap, non-blocking interrupt), so one thread serves all. Thread-safe.
 */
public final class CallTimer {
  private CallTimer() {}

  /** Created on first use, so sandboxes without timeouts start no thread. */
  private static final class Holder {
    static final ScheduledExecutorService TIMER = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor timer =
          new ScheduledThreadPoolExecutor(
              1,
              runnable -> {
                Thread thread = new Thread(runnable, "glint-call-timeout");
                thread.setDaemon(true);
                return thread;
              });
      // Calls usually end long before their timeout: drop cancelled timers at once.
      timer.setRemoveOnCancelPolicy(true);
      return timer;
    }
  }

  /** {@return the scheduled {@code action}, run once {@code delay} from now} */
  public static ScheduledFuture<?> schedule(Runnable action, Duration delay) {
    return Holder.TIMER.schedule(action, delay.toNanos(), TimeUnit.NANOSECONDS);
  }
}
