package dev.glint.hv.whp.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Stops a vCPU's {@code WHvRunVirtualProcessor} from another thread with {@code
 * WHvCancelRunVirtualProcessor}, and guards the vCPU against close while a call is in progress.
 *
 * <p>An interrupt is a flag first: {@link #interrupt()} sets it and, if a run is in progress, calls
 * {@code WHvCancelRunVirtualProcessor}, which makes the run return {@code
 * WHvRunVpExitReasonCanceled}. A run checks the flag before it enters the guest, so an interrupt
 * while no run is in progress cancels the next one without any native call. WHP's documentation
 * does not say whether a cancel that arrives just before the run enters the guest is kept; if it
 * were lost, the run would end at the guest's next exit and the flag would cancel the run after it.
 * A {@code Canceled} exit with no flag set (a cancel kept from an earlier interrupt that a run had
 * already consumed) is not reported: the run enters the guest again.
 *
 * <p>Thread-safe; the state is guarded by this object's lock, never held during a native run.
 */
final class WhpInterrupter implements VcpuInterrupter {
  private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final WinHvPlatform platform;
  private final MemorySegment partition;
  private final int vpIndex;

  // Guarded by this.
  private boolean busy;
  private boolean running;
  private boolean closed;
  private boolean requested;

  WhpInterrupter(WinHvPlatform platform, MemorySegment partition, int vpIndex) {
    this.platform = platform;
    this.partition = partition;
    this.vpIndex = vpIndex;
  }

  @Override
  public synchronized void interrupt() {
    if (closed || requested) {
      return;
    }
    requested = true;
    if (running) {
      cancel();
    }
  }

  private void cancel() {
    WhpErrors.released(
        platform.cancelRunVirtualProcessor(partition, vpIndex),
        "WHvCancelRunVirtualProcessor",
        "the interrupt of VP " + vpIndex);
  }

  /**
   * Marks the vCPU busy for the calling thread.
   *
   * @throws ClosedResourceException if closed
   * @throws IllegalStateException if another call is in progress
   */
  synchronized void enter(String resource) {
    if (closed) {
      throw new ClosedResourceException(resource);
    }
    if (busy) {
      throw new IllegalStateException(
          resource + " is in use by another thread; calls on a vCPU must not overlap");
    }
    busy = true;
  }

  /** Ends a call begun with {@link #enter}. */
  synchronized void leave() {
    busy = false;
    running = false;
    notifyAll();
  }

  /**
   * Before entering the guest: {@return whether an interrupt is pending} (and consumes it); if not,
   * marks the run in progress so that an interrupt from now on cancels it natively.
   */
  synchronized boolean consumeOrStartRunning() {
    if (requested) {
      requested = false;
      return true;
    }
    running = true;
    return false;
  }

  /** After {@code WHvRunVirtualProcessor} returned. */
  synchronized void stoppedRunning() {
    running = false;
  }

  /** After a {@code Canceled} exit: {@return whether it answers a pending interrupt} */
  synchronized boolean consume() {
    boolean was = requested;
    requested = false;
    return was;
  }

  /**
   * Marks the vCPU closed, so no call can begin; if one is in progress, cancels it and waits for it
   * to end. {@return whether no call is in progress any more (false after a timeout)}
   */
  synchronized boolean closeAndAwaitIdle() {
    closed = true;
    if (running) {
      requested = true;
      cancel();
    }
    long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
    boolean interrupted = false;
    try {
      while (busy) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        if (running) {
          cancel(); // a run may have begun between the checks of an earlier wait
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
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
