package dev.glint.hv.kvm.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Stops a vCPU's {@code KVM_RUN} from another thread, and guards the vCPU's state against close.
 *
 * <p><b>How a kick works.</b> {@link #interrupt()} sets {@code kvm_run.immediate_exit} (a volatile
 * byte write) and, if the vCPU thread is inside {@code run()}, sends it a real-time signal with
 * {@code tgkill(getpid(), tid, signal)}; {@code tid} is the kernel id of the vCPU thread (read once
 * per platform thread with {@code gettid()}) at the start of each run. The signal (default 40,
 * {@code -Dglint.hv.kvm.signal=N}) has a do-nothing handler, so its only effect is to make {@code
 * KVM_RUN} return {@code EINTR}. {@code immediate_exit} covers the window before the thread enters
 * the guest, where a signal alone would be lost; the signal covers a guest that is already running.
 * After {@code EINTR} the vCPU clears {@code immediate_exit} and returns {@code Cancelled}. An
 * interrupt while no run is in progress just leaves {@code immediate_exit} set: the next run
 * returns {@code Cancelled} at once.
 *
 * <p><b>The handler, without a native build.</b> It is five bytes of machine code ({@code endbr64;
 * ret}) written into an anonymous page that is then made read+execute and never unmapped, installed
 * with {@code sigaction} once per process, only if the signal's disposition is {@code SIG_DFL} (see
 * {@code Sigaction}). It is not an FFM upcall: an upcall aborts the JVM when the signal lands on a
 * thread parked in Java. Coexisting with HotSpot: HotSpot installs handlers for signals 1, 2, 3, 4,
 * 7, 8, 11, 12, 13, 15 and 25 only; real-time signals are left at {@code SIG_DFL} and unblocked on
 * Java threads, so the handler runs wherever the thread is, does nothing, and returns through
 * glibc's restorer. {@code SA_RESTART} restarts any other system call the signal interrupts.
 *
 * <p><b>Never signal a thread that left.</b> HotSpot threads are detached, so a tid may be reused
 * after the thread exits. The vCPU thread publishes its tid under this object's lock on entry and
 * clears it under the lock before {@code run()} returns; {@code interrupt()} sends the signal while
 * holding the lock, so the target is always a thread inside {@code run()}.
 *
 * <p>The same lock marks the vCPU busy during every call that touches the {@code kvm_run} mapping,
 * so a close from another thread waits for (and, for a run, interrupts) the call instead of
 * unmapping memory under it.
 *
 * <p>Run vCPUs on platform threads: the tid is taken per {@code run()}, and while {@code KVM_RUN}
 * is in progress the downcall pins a virtual thread to its carrier, but a virtual thread may move
 * between {@code gettid()} and the downcall.
 */
final class KvmKicker implements VcpuInterrupter {
  private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final MemorySegment run;
  private final int signal;
  private final int pid;
  private final String cancelUnavailable;

  // Guarded by this.
  private boolean busy;
  private int tid;
  private boolean signalled;
  private boolean closed;

  /** An interrupt is pending (not yet consumed). Written under the lock, read without it. */
  private volatile boolean requested;

  /**
   * @param signal the kick signal, or 0 when cancellation is unavailable
   * @param cancelUnavailable why, when {@code signal} is 0
   */
  KvmKicker(MemorySegment run, int signal, String cancelUnavailable) {
    this.run = run;
    this.signal = signal;
    this.pid = signal != 0 ? Libc.getpid() : 0;
    this.cancelUnavailable = cancelUnavailable;
  }

  boolean supported() {
    return signal != 0;
  }

  MissingCapabilityException unsupported() {
    return new MissingCapabilityException(
        KvmErrors.BACKEND, Capability.CANCEL, "vCPU interrupt (" + cancelUnavailable + ")");
  }

  /**
   * {@inheritDoc}
   *
   * <p>Interrupts coalesce: while one is pending, another does nothing (no lock, no signal), and at
   * most one signal is sent per {@code run()}. Real-time signals queue rather than merge, so a
   * caller that interrupts in a loop must not flood the vCPU thread with them.
   */
  @Override
  public void interrupt() {
    if (signal == 0) {
      throw unsupported();
    }
    if (requested) {
      return; // already pending: immediate_exit is set, and the signal was sent if needed
    }
    synchronized (this) {
      if (closed || requested) {
        return;
      }
      requested = true;
      KvmRun.setImmediateExit(run, true);
      kick();
    }
  }

  /** Signals the vCPU thread if it is inside run() and was not signalled in this run yet. */
  private void kick() {
    if (tid != 0 && !signalled) {
      signalled = true;
      // ESRCH cannot happen: the thread is inside run() while tid is set.
      Libc.tgkill(pid, tid, signal);
    }
  }

  /**
   * Marks the vCPU busy for the calling thread.
   *
   * @param runningTid the caller's tid when it is about to enter {@code KVM_RUN}, else 0
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
    notifyAll();
  }

  /**
   * After {@code KVM_RUN} returned {@code EINTR}: {@return whether an interrupt was requested} If
   * so, consumes it and clears {@code immediate_exit}; if not, the signal was someone else's and
   * the run should go on.
   */
  synchronized boolean consumeInterrupt() {
    if (!requested) {
      return false;
    }
    requested = false;
    KvmRun.setImmediateExit(run, false);
    return true;
  }

  /**
   * Sets {@code immediate_exit} for a {@code KVM_RUN} that must not enter the guest ({@link
   * KvmVcpu#settle()}); {@link #endImmediateRun()} puts back what a pending interrupt needs.
   */
  synchronized void beginImmediateRun() {
    KvmRun.setImmediateExit(run, true);
  }

  /** Clears {@code immediate_exit} unless an interrupt is pending, which keeps it set. */
  synchronized void endImmediateRun() {
    KvmRun.setImmediateExit(run, requested);
  }

  /**
   * Marks the vCPU closed, so no call can begin; if one is in progress, interrupts it (when
   * possible) and waits for it to end.
   *
   * @return whether no call is in progress any more (false after a timeout)
   */
  synchronized boolean closeAndAwaitIdle() {
    closed = true;
    if (busy && signal != 0) {
      requested = true;
      KvmRun.setImmediateExit(run, true);
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
