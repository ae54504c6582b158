package dev.glint.hv.mshv.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.mshv.internal.sys.Libc;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Stops a VP's {@code MSHV_RUN_VP} from another thread, and guards the VP's state against close.
 *
 * <p><b>How a kick works.</b> mshv has no {@code immediate_exit}: the only way to make {@code
 * MSHV_RUN_VP} return is a signal, which makes it fail with {@code EINTR} (the driver suspends the
 * VP, or returns a message already in flight). {@link #interrupt()} marks an interrupt pending and,
 * if the VP thread is inside {@code run()}, sends it a real-time signal ({@code tgkill}; default
 * 41, {@code -Dglint.hv.mshv.signal=N}) whose handler does nothing (installed by the probe, see
 * {@code Sigaction}). A signal that lands after {@code run()} checked for a pending interrupt but
 * before the thread entered the driver is consumed by the handler and lost, so the kick is
 * <em>retried</em> while the thread is still inside {@code run()}: after 100 µs, then at doubling
 * intervals up to 10 ms, from one shared daemon thread. An interrupt while no run is in progress is
 * kept; the next {@code run()} returns {@code Cancelled} without entering the guest.
 *
 * <p><b>Never signal a thread that left.</b> The VP thread publishes its tid under this object's
 * lock on entry and clears it under the lock before {@code run()} returns; signals are sent while
 * holding the lock, so the target is always a thread inside {@code run()}.
 *
 * <p>The same lock marks the VP busy during every call, so a close from another thread waits for
 * (and, for a run, interrupts) the call instead of freeing buffers under it.
 */
final class MshvKicker implements VcpuInterrupter {
  private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long FIRST_RETRY_MICROS = 100;
  private static final long LAST_RETRY_MICROS = 10_000;

  /** Re-sends kicks; one daemon thread for the process, made on first use. */
  private static final class Retry {
    static final ScheduledExecutorService EXECUTOR =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "glint-mshv-kick");
              thread.setDaemon(true);
              return thread;
            });
  }

  private final int signal;
  private final int pid;
  private final String cancelUnavailable;

  // Guarded by this.
  private boolean busy;
  private int tid;
  private boolean signalled;
  private long generation;
  private boolean closed;
  private long kicks;

  /** An interrupt is pending (not yet consumed). Written under the lock. */
  private volatile boolean requested;

  /**
   * @param signal the kick signal, or 0 when cancellation is unavailable
   * @param cancelUnavailable why, when {@code signal} is 0
   */
  MshvKicker(int signal, String cancelUnavailable) {
    this.signal = signal;
    this.pid = signal != 0 ? Libc.getpid() : 0;
    this.cancelUnavailable = cancelUnavailable;
  }

  boolean supported() {
    return signal != 0;
  }

  MissingCapabilityException unsupported() {
    return new MissingCapabilityException(
        MshvErrors.BACKEND, Capability.CANCEL, "VP interrupt (" + cancelUnavailable + ")");
  }

  /**
   * {@inheritDoc}
   *
   * <p>Interrupts coalesce: while one is pending, another does nothing.
   */
  @Override
  public void interrupt() {
    if (signal == 0) {
      throw unsupported();
    }
    if (requested) {
      return;
    }
    synchronized (this) {
      if (closed || requested) {
        return;
      }
      requested = true;
      kick();
    }
  }

  /** Signals the VP thread if it is inside run(), and schedules the retries. Holds the lock. */
  private void kick() {
    if (tid != 0 && !signalled) {
      signalled = true;
      Libc.tgkill(pid, tid, signal);
      kicks++;
      scheduleRetry(generation, FIRST_RETRY_MICROS);
    }
  }

  private void scheduleRetry(long run, long micros) {
    Retry.EXECUTOR.schedule(() -> retry(run, micros), micros, TimeUnit.MICROSECONDS);
  }

  private synchronized void retry(long run, long lastDelay) {
    if (run != generation || tid == 0 || !requested) {
      return; // that run has ended, or the interrupt was consumed
    }
    Libc.tgkill(pid, tid, signal); // still inside run(): the last signal may have been lost
    kicks++;
    scheduleRetry(run, Math.min(LAST_RETRY_MICROS, 2 * lastDelay));
  }

  /** {@return how many signals were sent, for tests} */
  synchronized long kicks() {
    return kicks;
  }

  /**
   * Marks the VP busy for the calling thread.
   *
   * @param runningTid the caller's tid when it is about to run the VP, else 0
   * @throws ClosedResourceException if closed
   * @throws IllegalStateException if another call is in progress
   */
  synchronized void enter(int runningTid, String resource) {
    if (closed) {
      throw new ClosedResourceException(resource);
    }
    if (busy) {
      throw new IllegalStateException(
          resource + " is in use by another thread; calls on a vCPU must not overlap");
    }
    busy = true;
    tid = runningTid;
    signalled = false;
  }

  /** Ends a call begun with {@link #enter}; from here the thread is never signalled. */
  synchronized void leave() {
    busy = false;
    tid = 0;
    generation++;
    notifyAll();
  }

  /** {@return whether an interrupt was pending} If so, consumes it. */
  synchronized boolean consumeInterrupt() {
    if (!requested) {
      return false;
    }
    requested = false;
    return true;
  }

  /**
   * Marks the VP closed, so no call can begin; if one is in progress, interrupts it (when possible)
   * and waits for it to end. {@return whether no call is in progress any more (false after a
   * timeout)}
   */
  synchronized boolean closeAndAwaitIdle() {
    closed = true;
    if (busy && signal != 0) {
      requested = true;
      kick();
    }
    long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
    boolean interrupted = false;
    try {
      while (busy) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
