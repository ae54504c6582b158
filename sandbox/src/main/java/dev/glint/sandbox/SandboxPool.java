package dev.glint.sandbox;

import dev.glint.sandbox.internal.events.PoolAcquireEvent;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A pool of warm sandboxes of one guest, for callers on many threads: each takes a sandbox for a
 * while ({@link #acquire()} gives a {@link SandboxLease}), calls it, and gives it back, and the
 * next caller finds it in the state the pool's snapshot holds, without paying for a build.
 *
 * {@snippet :
 * Sandbox.Builder template = Sandbox.builder().guest(Path.of("state.elf")).callTimeout(Duration.ofSeconds(1));
 * try (SandboxPool pool = SandboxPool.builder(template).minIdle(2).maxSize(8).build()) {
 *   try (SandboxLease lease = pool.acquire()) {
 *     lease.call("Increment", ValueType.I64); // 1
 *   }
 *   long again = pool.call("Increment", ValueType.I64); // 1 again: acquire, call, release
 * }
 * }
 *
 * <p><b>How it starts:</b> {@link Builder#build()} builds one sandbox from the template builder
 * (guest, layout, privilege level, backend, host functions, print sink, call timeout), takes a
 * {@link Snapshot} of it after the guest's initialization, and closes it. Every member of the pool
 * starts from that snapshot (sharing its pages copy-on-write where the backend can), with the
 * template's host functions, print sink, call timeout and restore mode. {@link Builder#minIdle}
 * members are built at once; more, up to {@link Builder#maxSize}, when acquires find none idle.
 *
 * <p><b>Release:</b> closing a lease restores its sandbox to the snapshot (a cost in proportion to
 * the pages the lease's calls wrote) and makes it idle; nothing a lease's calls wrote is seen by
 * the next lease. When the idle sandboxes fall below {@code minIdle} (after an acquire, or after a
 * replacement) a background virtual thread builds more, up to {@code maxSize} in all.
 *
 * <p><b>Replacement:</b> a sandbox is closed and replaced, not restored, when a call through the
 * lease failed in a way that left the guest in an unknown state: its exception {@linkplain
 * SandboxException#poisons() poisons} ({@link GuestFaultException}, {@link GuestAbortedException},
 * {@link CallTimeoutException}, {@link ExecutionCancelledException}, {@link
 * ProtocolViolationException}), the hypervisor failed, or the sandbox is poisoned; also when the
 * restore fails or leaves it poisoned. A restore would make such a sandbox work again (it resets
 * memory, registers and the poisoning), so this is a choice, made because a restore resets what a
 * snapshot holds and no more: the VM's other state (model-specific and debug registers, the
 * hypervisor's own bookkeeping of an instruction stopped halfway) is not part of it. A guest that
 * faulted, ran away or broke the protocol is the one most likely to have touched such state, so its
 * VM is not trusted again. Closing it and building another from the snapshot costs about a
 * millisecond, against tens of microseconds for a restore, paid only when a call failed that way.
 * Calls that end in an orderly way ({@link GuestErrorException}) or are refused before the guest
 * runs ({@link TypeMismatchException}, {@link GuestFunctionNotFoundException}, {@link
 * ArgumentTooLargeException}) leave the sandbox to be restored and reused. {@link
 * PoolStats#replaced()} counts replacements.
 *
 * <p><b>Thread safety:</b> thread-safe; many platform or virtual threads may acquire at once.
 * Acquires block (without spinning) while {@code maxSize} leases are out, up to the acquire
 * timeout, and then throw {@link PoolExhaustedException}. The template's host functions and print
 * sink are shared by all members, so they run on several threads at once and must be thread-safe.
 *
 * <p><b>Ownership:</b> the caller of {@link Builder#build()} owns the pool and must close it; the
 * pool owns its sandboxes and its snapshot. {@link #close()} refuses new acquires at once, waits
 * for the leases out to be released, then closes every sandbox and, last, the snapshot. {@link
 * #close(Duration)} waits at most a given time and then stops the sandboxes still leased. A lease
 * released after the pool closed closes its sandbox. Close from a thread that holds a lease (or
 * from a host function) would wait for itself: release first.
 */
public final class SandboxPool implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.glint.sandbox.pool");

  /** The most sandboxes a pool may hold. */
  static final int MAX_SIZE = 4096;

  private final SandboxConfig memberConfig;
  private final Snapshot snapshot;
  private final int minIdle;
  private final int maxSize;
  private final Duration acquireTimeout;

  private final ReentrantLock lock = new ReentrantLock();

  /** Signalled (one waiter) when a sandbox turns idle or a slot frees; all when the pool closes. */
  private final Condition available = lock.newCondition();

  /** Signalled (all) after close when a lease is released or a build ends. */
  private final Condition quiet = lock.newCondition();

  // Guarded by the lock. Idle sandboxes are taken last-in first-out: the one used last has its
  // pages and the host's caches warmest.
  private final ArrayDeque<Sandbox> idle = new ArrayDeque<>();
  private final Set<SandboxLease> leases = new HashSet<>();
  private int building;
  private int waiting;
  private boolean refilling;
  private long created;
  private long replaced;
  private long acquired;
  private long exhausted;

  // Written under the lock; volatile so that a release can skip the restore without taking it.
  private volatile boolean closed;

  private SandboxPool(
      SandboxConfig memberConfig,
      Snapshot snapshot,
      int minIdle,
      int maxSize,
      Duration acquireTimeout) {
    this.memberConfig = memberConfig;
    this.snapshot = snapshot;
    this.minIdle = minIdle;
    this.maxSize = maxSize;
    this.acquireTimeout = acquireTimeout;
  }

  /**
   * {@return a builder for a pool of sandboxes configured by {@code template}} The template is read
   * when {@link Builder#build()} runs; changing it afterwards does not change the pool.
   *
   * @param template a sandbox builder with the guest set, as for {@link Sandbox.Builder#build()}
   */
  public static Builder builder(Sandbox.Builder template) {
    return new Builder(Objects.requireNonNull(template, "template"));
  }

  /** {@return the functions the guest exports, in the order of its function table} */
  public List<GuestFunction> functions() {
    return snapshot.functions();
  }

  /** {@return the privilege level the guest's functions run at} */
  public PrivilegeLevel privilegeLevel() {
    return snapshot.privilegeLevel();
  }

  /** {@return the most sandboxes the pool holds, idle and in use} */
  public int maxSize() {
    return maxSize;
  }

  /** {@return whether {@link #close()} was called} */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Takes a sandbox for the caller, waiting up to the {@linkplain Builder#acquireTimeout acquire
   * timeout}; see {@link #acquire(Duration)}.
   *
   * @return the lease; the caller must close it
   * @throws PoolExhaustedException if no sandbox came free within the acquire timeout
   * @throws InterruptedException if the thread was interrupted while waiting
   * @throws IllegalStateException if the pool is closed
   */
  public SandboxLease acquire() throws InterruptedException {
    return acquire(acquireTimeout);
  }

  /**
   * Takes a sandbox for the caller: an idle one; else, below the maximum size, a new one built from
   * the snapshot; else the first to be released within {@code timeout}.
   *
   * @param timeout the longest to wait, 0 (do not wait) to 1 day
   * @return the lease; the caller must close it, which gives the sandbox back
   * @throws PoolExhaustedException if no sandbox came free within {@code timeout}
   * @throws InterruptedException if the thread was interrupted while waiting
   * @throws IllegalStateException if the pool is closed, or closes while the thread waits
   * @throws IllegalArgumentException if {@code timeout} is out of range
   * @throws dev.glint.hv.HypervisorException if a sandbox had to be built and the backend failed
   */
  public SandboxLease acquire(Duration timeout) throws InterruptedException {
    long timeoutNanos = checkAcquireTimeout(timeout).toNanos();
    PoolAcquireEvent event = new PoolAcquireEvent();
    event.begin();
    event.poolSize = maxSize;
    event.outcome = "failed";
    try {
      SandboxLease lease = take(timeout, timeoutNanos, event);
      event.outcome = "ok";
      return lease;
    } finally {
      event.commit();
    }
  }

  /**
   * Calls the guest function {@code name} in a sandbox of the pool: acquires a lease (waiting up to
   * the acquire timeout), calls, releases.
   *
   * @param name the guest function's name
   * @param returnType the function's declared return type ({@link ValueType#VOID} for none)
   * @param arguments one Java value per parameter, of the parameter's Java type
   * @param <T> the Java type of the result
   * @return the result; {@code null} for void
   * @throws PoolExhaustedException if no sandbox came free within the acquire timeout
   * @throws InterruptedException if the thread was interrupted while waiting for a sandbox
   * @throws IllegalStateException if the pool is closed
   * @see SandboxLease#call(String, ValueType, Object...) the call's exceptions
   */
  public <T> T call(String name, ValueType<T> returnType, Object... arguments)
      throws InterruptedException {
    try (SandboxLease lease = acquire()) {
      return lease.call(name, returnType, arguments);
    }
  }

  /** {@return the pool's counters now} */
  public PoolStats stats() {
    lock.lock();
    try {
      return new PoolStats(
          created, idle.size(), leases.size(), replaced, acquired, exhausted, building, waiting);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Closes the pool: new acquires throw {@link IllegalStateException} at once (threads waiting in
   * {@link #acquire} too), idle sandboxes are closed, and the call waits, as long as it takes, for
   * every lease out to be released (each release then closes its sandbox); then it closes the
   * snapshot. Idempotent; a second call waits as the first does.
   *
   * <p>If the thread is interrupted while waiting, the sandboxes still leased are closed at once (a
   * call running in one is stopped and throws), and the interrupt status is set again on return.
   */
  @Override
  public void close() {
    shutDown(-1);
  }

  /**
   * Closes the pool as {@link #close()} does, but waits at most {@code timeout} for the leases out
   * to be released: after it, the sandboxes still leased are closed (a call running in one is
   * stopped and throws, and the lease's later calls throw {@link IllegalStateException}). Every
   * sandbox and the snapshot are closed when this returns.
   *
   * @param timeout the longest to wait for leases, 0 to 1 day
   * @return true if every lease was released in time, false if some sandbox had to be stopped
   * @throws IllegalArgumentException if {@code timeout} is out of range
   */
  public boolean close(Duration timeout) {
    return shutDown(checkAcquireTimeout(timeout).toNanos());
  }

  /**
   * {@return the new lease} Waits for an idle sandbox or a free slot; builds in the latter case.
   */
  private SandboxLease take(Duration timeout, long timeoutNanos, PoolAcquireEvent event)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    SandboxLease lease = null;
    boolean refill;
    lock.lock();
    try {
      while (true) {
        if (closed) {
          event.outcome = "closed";
          throw closedException();
        }
        Sandbox sandbox = idle.pollFirst();
        if (sandbox != null) {
          lease = lend(sandbox);
          break;
        }
        if (idle.size() + leases.size() + building < maxSize) {
          building++;
          break;
        }
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          exhausted++;
          event.outcome = "exhausted";
          throw new PoolExhaustedException(
              ("no sandbox came free within %s: all %d of the pool's sandboxes are in use; release"
                      + " leases sooner, or raise maxSize or the acquire timeout")
                  .formatted(timeout, maxSize),
              timeout,
              maxSize);
        }
        waiting++;
        try {
          available.awaitNanos(remaining);
        } catch (InterruptedException e) {
          // A wake-up meant for a waiter may have come to this one: pass it on.
          available.signal();
          event.outcome = "interrupted";
          throw e;
        } finally {
          waiting--;
        }
      }
      event.inUse = leases.size() + (lease == null ? 1 : 0);
      refill = lease != null && startRefill();
    } finally {
      lock.unlock();
    }
    if (lease == null) {
      event.built = true;
      return buildForLease();
    }
    if (refill) {
      startRefillThread();
    }
    return lease;
  }

  /** Builds a sandbox in a slot {@code take} reserved, and lends it. */
  private SandboxLease buildForLease() {
    Sandbox sandbox = buildReserved();
    SandboxLease lease = null;
    boolean refill = false;
    lock.lock();
    try {
      if (!closed) {
        building--;
        created++;
        lease = lend(sandbox);
        refill = startRefill();
      }
    } finally {
      lock.unlock();
    }
    if (lease != null) {
      if (refill) {
        startRefillThread();
      }
      return lease;
    }
    // Closed during the build: free the sandbox before the slot, so close() outwaits it.
    closeQuietly(sandbox);
    endBuild(true);
    throw closedException();
  }

  /** Builds a sandbox in a reserved slot; on failure gives the slot up and throws. */
  private Sandbox buildReserved() {
    boolean built = false;
    try {
      Sandbox sandbox = SandboxFactory.build(memberConfig);
      built = true;
      return sandbox;
    } finally {
      if (!built) {
        endBuild(false);
      }
    }
  }

  /** Gives up a reserved slot; {@code created}: the sandbox was built (and closed). */
  private void endBuild(boolean created) {
    lock.lock();
    try {
      building--;
      if (created) {
        this.created++;
      }
      available.signal();
      quiet.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** {@return a lease of {@code sandbox}, counted} Under the lock. */
  private SandboxLease lend(Sandbox sandbox) {
    SandboxLease lease = new SandboxLease(this, sandbox);
    leases.add(lease);
    acquired++;
    return lease;
  }

  /**
   * {@return whether the caller must start a refill thread} True, and marked, when fewer than
   * {@code minIdle} are idle or being built, the pool has room, and no refill runs. Under the lock.
   */
  private boolean startRefill() {
    if (closed
        || refilling
        || idle.size() + building >= minIdle
        || idle.size() + leases.size() + building >= maxSize) {
      return false;
    }
    refilling = true;
    return true;
  }

  private void startRefillThread() {
    Thread.ofVirtual().name("glint-pool-refill").start(this::refill);
  }

  /** Builds sandboxes until {@code minIdle} are idle, the pool is full, or it closes. */
  private void refill() {
    while (true) {
      lock.lock();
      try {
        if (closed
            || idle.size() + building >= minIdle
            || idle.size() + leases.size() + building >= maxSize) {
          refilling = false;
          return;
        }
        building++;
      } finally {
        lock.unlock();
      }
      Sandbox sandbox;
      try {
        sandbox = buildReserved();
      } catch (RuntimeException | Error e) {
        // Acquires build on demand and report failures to their callers; log here and stop, so a
        // backend that keeps failing is not retried in a loop.
        LOG.log(System.Logger.Level.WARNING, "topping up the sandbox pool failed", e);
        lock.lock();
        try {
          refilling = false;
        } finally {
          lock.unlock();
        }
        if (e instanceof Error error) {
          throw error;
        }
        return;
      }
      lock.lock();
      try {
        if (!closed) {
          building--;
          created++;
          idle.addFirst(sandbox);
          available.signal();
          LOG.log(System.Logger.Level.DEBUG, "sandbox pool topped up to {0} idle", idle.size());
          continue;
        }
        refilling = false;
      } finally {
        lock.unlock();
      }
      closeQuietly(sandbox);
      endBuild(true);
      return;
    }
  }

  /**
   * Takes a lease back: restores its sandbox and makes it idle, or closes it (replaced, or the pool
   * is closed).
   */
  void release(SandboxLease lease, Sandbox sandbox, boolean misbehaved) {
    String discard = misbehaved ? "a call left the guest in an unknown state" : null;
    if (discard == null && !closed) {
      try {
        // In restore-after-each-call mode every call already ended with a restore.
        if (!memberConfig.restoreAfterEachCall() || sandbox.isPoisoned()) {
          sandbox.restore(snapshot);
        }
        if (sandbox.isPoisoned()) {
          discard = "it is still poisoned after the restore";
        }
      } catch (RuntimeException e) {
        discard = "the restore failed: " + e;
      }
    }
    boolean refill;
    lock.lock();
    try {
      if (discard == null && !closed) {
        leases.remove(lease);
        idle.addFirst(sandbox);
        available.signal();
        return;
      }
    } finally {
      lock.unlock();
    }
    // Free the sandbox before the lease leaves the books, so that close() outwaits it.
    closeQuietly(sandbox);
    lock.lock();
    try {
      leases.remove(lease);
      if (!closed) {
        replaced++;
        String reason = discard;
        LOG.log(System.Logger.Level.DEBUG, () -> "sandbox replaced: " + reason);
      }
      available.signal();
      quiet.signalAll();
      refill = startRefill();
    } finally {
      lock.unlock();
    }
    if (refill) {
      startRefillThread();
    }
  }

  /**
   * Closes the pool; waits up to {@code timeoutNanos} (forever if negative) for leases.
   *
   * @return whether every lease was released in time
   */
  private boolean shutDown(long timeoutNanos) {
    List<Sandbox> idleNow;
    lock.lock();
    try {
      if (!closed) {
        closed = true;
        LOG.log(
            System.Logger.Level.DEBUG,
            "sandbox pool closing: {0} idle, {1} leased",
            idle.size(),
            leases.size());
      }
      idleNow = new ArrayList<>(idle);
      idle.clear();
      available.signalAll();
    } finally {
      lock.unlock();
    }
    idleNow.forEach(SandboxPool::closeQuietly);
    boolean interrupted = false;
    List<SandboxLease> overdue;
    lock.lock();
    try {
      long remaining = timeoutNanos;
      while (!leases.isEmpty() && !interrupted && (timeoutNanos < 0 || remaining > 0)) {
        try {
          if (timeoutNanos < 0) {
            quiet.await();
          } else {
            remaining = quiet.awaitNanos(remaining);
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      overdue = List.copyOf(leases);
    } finally {
      lock.unlock();
    }
    if (!overdue.isEmpty()) {
      LOG.log(
          System.Logger.Level.DEBUG,
          "sandbox pool closing: stopping {0} sandboxes still leased",
          overdue.size());
    }
    for (SandboxLease lease : overdue) {
      // Closing a sandbox stops a call running in it and waits for the call to end.
      try {
        lease.stop();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "stopping a leased sandbox failed", e);
      }
    }
    lock.lock();
    try {
      // Builds do not run guest code and end soon; each closes what it built, as the pool is
      // closed. Waiting for them means no sandbox outlives close().
      while (building > 0) {
        quiet.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
    snapshot.close();
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    LOG.log(System.Logger.Level.DEBUG, "sandbox pool closed");
    return overdue.isEmpty();
  }

  private static void closeQuietly(Sandbox sandbox) {
    try {
      sandbox.close();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "closing a pooled sandbox failed", e);
    }
  }

  private static IllegalStateException closedException() {
    return new IllegalStateException("the sandbox pool is closed");
  }

  /**
   * {@return {@code timeout} if it lies in 0 .. 1 day}
   *
   * @throws IllegalArgumentException naming the value and the allowed range
   */
  private static Duration checkAcquireTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException(
          "timeout %s is outside the allowed range: PT0S to PT24H (1 day)".formatted(timeout));
    }
    return timeout;
  }

  @Override
  public String toString() {
    PoolStats stats = stats();
    return "SandboxPool[%s, %d idle, %d in use, max %d%s]"
        .formatted(
            snapshot.backend(), stats.idle(), stats.inUse(), maxSize, closed ? ", closed" : "");
  }

  /**
   * Configures and builds a {@link SandboxPool}. Every setter validates its argument at once and
   * throws {@link IllegalArgumentException} naming the value and the allowed range.
   *
   * <table class="striped">
   *   <caption>Settings and defaults</caption>
   *   <thead><tr><th>setting</th><th>default</th><th>range</th></tr></thead>
   *   <tbody>
   *     <tr><td>{@link #minIdle}</td><td>1</td><td>0 .. maxSize</td></tr>
   *     <tr><td>{@link #maxSize}</td><td>the number of processors</td><td>1 .. 4096</td></tr>
   *     <tr><td>{@link #acquireTimeout}</td><td>30 s</td><td>0 .. 1 day</td></tr>
   *   </tbody>
   * </table>
   *
   * <p>Not thread-safe; a builder may build several pools.
   */
  public static final class Builder {
    private final Sandbox.Builder template;
    private int minIdle = 1;
    private int maxSize = Math.min(MAX_SIZE, Runtime.getRuntime().availableProcessors());
    private Duration acquireTimeout = Duration.ofSeconds(30);

    private Builder(Sandbox.Builder template) {
      this.template = template;
    }

    /**
     * Sets how many idle sandboxes the pool keeps ready: built with the pool, and topped up in the
     * background when acquires or replacements take the idle ones below it (as far as {@link
     * #maxSize} allows). 0 builds sandboxes only when acquires need them.
     *
     * @param count 0 to {@link #maxSize} (checked by {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if negative or above 4096
     */
    public Builder minIdle(int count) {
      minIdle = checkCount("minIdle", count, 0);
      return this;
    }

    /**
     * Sets the most sandboxes the pool holds, idle and leased: the most calls that run at once.
     * Each sandbox holds its own VM and the memory its calls write; calls beyond the processors
     * that run guest code at once only wait for a processor.
     *
     * @param count 1 to 4096
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxSize(int count) {
      maxSize = checkCount("maxSize", count, 1);
      return this;
    }

    /**
     * Sets how long {@link SandboxPool#acquire()} (and {@link SandboxPool#call}) wait for a sandbox
     * while all are in use before throwing {@link PoolExhaustedException}.
     *
     * @param timeout 0 (do not wait) to 1 day
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder acquireTimeout(Duration timeout) {
      acquireTimeout = checkAcquireTimeout(timeout);
      return this;
    }

    private static int checkCount(String what, int count, int min) {
      if (count < min || count > MAX_SIZE) {
        throw new IllegalArgumentException(
            "%s %d is outside the allowed range: %d to %d".formatted(what, count, min, MAX_SIZE));
      }
      return count;
    }

    /**
     * Builds the pool: one sandbox from the template, a snapshot of it, then {@link #minIdle}
     * sandboxes from the snapshot.
     *
     * @return the pool; the caller owns it and must close it
     * @throws IllegalArgumentException if {@code minIdle} exceeds {@code maxSize}, or as {@link
     *     Sandbox.Builder#build()}
     * @throws IllegalStateException if the template has no guest
     * @throws SandboxException as {@link Sandbox.Builder#build()} (the guest's initialization)
     * @throws dev.glint.hv.HypervisorException if no backend is available or the backend fails
     */
    public SandboxPool build() {
      if (minIdle > maxSize) {
        throw new IllegalArgumentException(
            "minIdle %d exceeds maxSize %d: at most maxSize sandboxes can be idle"
                .formatted(minIdle, maxSize));
      }
      SandboxConfig config = template.freeze();
      Snapshot snapshot;
      try (Sandbox first = SandboxFactory.build(config)) {
        snapshot = first.snapshot();
      }
      SandboxPool pool =
          new SandboxPool(
              config.startingFrom(snapshot), snapshot, minIdle, maxSize, acquireTimeout);
      boolean success = false;
      try {
        for (int i = 0; i < minIdle; i++) {
          Sandbox sandbox = SandboxFactory.build(pool.memberConfig);
          pool.lock.lock();
          try {
            pool.created++;
            pool.idle.addFirst(sandbox);
          } finally {
            pool.lock.unlock();
          }
        }
        success = true;
      } finally {
        if (!success) {
          pool.close();
        }
      }
      LOG.log(
          System.Logger.Level.DEBUG,
          () ->
              "sandbox pool built: %s, minIdle %d, maxSize %d, acquire timeout %s"
                  .formatted(snapshot, minIdle, maxSize, acquireTimeout));
      return pool;
    }
  }
}
