package dev.glint.sandbox;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The use of one sandbox of a {@link SandboxPool}, from {@link SandboxPool#acquire()} until {@link
 * #close()}: calls through a lease run in that sandbox, so state one call leaves is seen by the
 * next call of the same lease, and by no other lease.
 *
 * {@snippet :
 * try (SandboxLease lease = pool.acquire()) {
 *   long first = lease.call("Increment", ValueType.I64); // 1
 *   long second = lease.call("Increment", ValueType.I64); // 2: same sandbox, same lease
 * } // released: the sandbox is restored to the pool's snapshot
 * }
 *
 * <p><b>Release:</b> {@link #close()} gives the sandbox back; the pool restores it to its snapshot
 * before the next lease gets it, or replaces it if a call left the guest in an unknown state (see
 * {@link SandboxPool}). Close is idempotent; calls after it throw {@link IllegalStateException}.
 *
 * <p><b>Thread safety:</b> for one thread at a time, like a {@link Sandbox}; it may be handed from
 * one thread to another. Only the {@link #interruptHandle() interrupt handle} is for other threads.
 */
public final class SandboxLease implements AutoCloseable {
  private final SandboxPool pool;
  private final Sandbox sandbox;

  // Orders the interrupt handle against release: once released is set under it, no handle of
  // this lease can reach the sandbox, which may by then run another lease's call.
  private final ReentrantLock releasing = new ReentrantLock();
  private volatile boolean released;

  /** Whether a call through this lease left the guest in an unknown state: replace, not reuse. */
  private volatile boolean misbehaved;

  SandboxLease(SandboxPool pool, Sandbox sandbox) {
    this.pool = pool;
    this.sandbox = sandbox;
  }

  /**
   * Calls the guest function {@code name} in this lease's sandbox; see {@link Sandbox#call(String,
   * ValueType, Object...)}.
   *
   * @param name the guest function's name
   * @param returnType the function's declared return type ({@link ValueType#VOID} for none)
   * @param arguments one Java value per parameter, of the parameter's Java type
   * @param <T> the Java type of the result
   * @return the result; {@code null} for void
   * @throws SandboxException as {@link Sandbox#call(String, ValueType, Object...)}; one that
   *     {@linkplain SandboxException#poisons() poisons} makes the pool replace the sandbox on
   *     release, and the lease's later calls throw {@link SandboxPoisonedException}
   * @throws IllegalStateException if the lease was released, or the pool was closed and stopped the
   *     sandbox
   */
  public <T> T call(String name, ValueType<T> returnType, Object... arguments) {
    checkNotReleased();
    try {
      return sandbox.call(name, returnType, arguments);
    } catch (RuntimeException | Error e) {
      noteFailure(e);
      throw e;
    }
  }

  /**
   * Calls the guest function {@code name} with {@code timeout} as this call's time limit; see
   * {@link Sandbox#call(Duration, String, ValueType, Object...)}.
   *
   * @param timeout the longest this call may run, 1 ms to 1 day; null for no limit
   * @param name the guest function's name
   * @param returnType the function's declared return type ({@link ValueType#VOID} for none)
   * @param arguments one Java value per parameter, of the parameter's Java type
   * @param <T> the Java type of the result
   * @return the result; {@code null} for void
   * @throws CallTimeoutException if the call ran past {@code timeout} (the pool then replaces the
   *     sandbox on release)
   * @see #call(String, ValueType, Object...) the other exceptions
   */
  public <T> T call(Duration timeout, String name, ValueType<T> returnType, Object... arguments) {
    checkNotReleased();
    try {
      return sandbox.call(timeout, name, returnType, arguments);
    } catch (RuntimeException | Error e) {
      noteFailure(e);
      throw e;
    }
  }

  /** {@return the functions the guest exports, in the order of its function table} */
  public List<GuestFunction> functions() {
    return sandbox.functions();
  }

  /**
   * {@return a handle that stops this lease's running call from any thread} The call throws {@link
   * ExecutionCancelledException} and the pool replaces the sandbox on release. After the lease is
   * released the handle does nothing: it never reaches a call of the sandbox's next lease.
   *
   * @throws IllegalStateException if the lease was released
   * @throws dev.glint.hv.MissingCapabilityException if the backend cannot stop a running guest
   */
  public InterruptHandle interruptHandle() {
    checkNotReleased();
    InterruptHandle target = sandbox.interruptHandle();
    return () -> {
      releasing.lock();
      try {
        if (!released) {
          target.interrupt();
        }
      } finally {
        releasing.unlock();
      }
    };
  }

  /** {@return whether the lease was released} */
  public boolean isReleased() {
    return released;
  }

  /**
   * Releases the lease: the pool restores the sandbox and makes it idle, or replaces it (see {@link
   * SandboxPool}); after the pool was closed, it closes it. Idempotent.
   */
  @Override
  public void close() {
    releasing.lock();
    try {
      if (released) {
        return;
      }
      released = true;
    } finally {
      releasing.unlock();
    }
    pool.release(this, sandbox, misbehaved);
  }

  /** Closes the sandbox under a lease the pool's close gave up waiting for; stops its call. */
  void stop() {
    sandbox.close();
  }

  /**
   * Marks the sandbox for replacement when a call failed in a way that leaves the guest in an
   * unknown state. A poisoning exception says so even where restore-after-each-call mode already
   * un-poisoned the sandbox; a hypervisor failure or an Error leaves the VM itself in doubt.
   */
  private void noteFailure(Throwable failure) {
    if ((failure instanceof SandboxException e && e.poisons())
        || failure instanceof dev.glint.hv.HypervisorException
        || failure instanceof Error
        || sandbox.isPoisoned()) {
      misbehaved = true;
    }
  }

  private void checkNotReleased() {
    if (released) {
      throw new IllegalStateException("the lease was released; acquire a new one from the pool");
    }
  }

  @Override
  public String toString() {
    return "SandboxLease[" + (released ? "released" : "active") + "]";
  }
}
