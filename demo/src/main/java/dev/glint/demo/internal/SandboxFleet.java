package dev.glint.demo.internal;

import dev.glint.guest.SampleGuests;
import dev.glint.sandbox.PoolStats;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.SandboxPool;
import dev.glint.sandbox.Snapshot;
import dev.glint.sandbox.ValueType;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Every micro-VM the demo runs: a pool of warm {@code hello} sandboxes, a pool of {@code faults}
 * sandboxes, and the cold {@code hello} sandboxes built for one request each. It counts what is
 * alive and frees it all on {@link #close(Duration)}.
 *
 * <p><b>Thread safety:</b> thread-safe; every route calls it from its own virtual thread.
 */
public final class SandboxFleet implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.glint.demo");

  /** The hello guest's function: {@code PrintOutput(string) -> i32}. */
  static final String PRINT_OUTPUT = "PrintOutput";

  /** The faults guest's function that reads address 0. */
  static final String NULL_DEREF = "NullDeref";

  /**
   * How the fleet is built.
   *
   * @param backend the backend's name, or null for the sandbox's default (the {@code glint.backend}
   *     property, else the best available)
   * @param privilegeLevel the guest functions' privilege level, or null for the backend's default
   * @param warmMinIdle idle warm sandboxes kept ready
   * @param warmMaxSize the most warm sandboxes, idle and in use
   * @param maxColdInFlight the most cold sandboxes alive at once
   * @param callTimeout the longest a guest call may run
   * @param acquireTimeout how long a request waits for a sandbox before it is answered 503
   */
  public record Settings(
      String backend,
      PrivilegeLevel privilegeLevel,
      int warmMinIdle,
      int warmMaxSize,
      int maxColdInFlight,
      Duration callTimeout,
      Duration acquireTimeout) {
    /** Checks the sizes. */
    public Settings {
      if (warmMaxSize < 1 || warmMinIdle < 0 || warmMinIdle > warmMaxSize) {
        throw new IllegalArgumentException(
            "warm pool: min idle %d and max size %d must satisfy 0 <= min idle <= max size, max size >= 1"
                .formatted(warmMinIdle, warmMaxSize));
      }
      if (maxColdInFlight < 1) {
        throw new IllegalArgumentException(
            "max cold sandboxes in flight %d must be at least 1".formatted(maxColdInFlight));
      }
      Objects.requireNonNull(callTimeout, "callTimeout");
      Objects.requireNonNull(acquireTimeout, "acquireTimeout");
    }
  }

  private static final Duration SNAPSHOT_RELEASE_GRACE = Duration.ofSeconds(1);

  private final Settings settings;
  // The cold route's sandboxes start from this snapshot of an initialized hello guest: a new
  // micro-VM per request, without running the guest's initialization again.
  private final Snapshot helloSnapshot;
  private final String backend;
  private final PrivilegeLevel privilegeLevel;
  private final SandboxPool warm;
  private final SandboxPool faults;
  private final Semaphore coldPermits;

  // Cold sandboxes alive now. A sandbox joins it only while the fleet is open (checked under the
  // set's lock), so close() finds every one it must free.
  private final Set<Sandbox> cold = ConcurrentHashMap.newKeySet();
  private final Object coldLock = new Object();
  private boolean closing; // guarded by coldLock

  private SandboxFleet(
      Settings settings,
      Snapshot helloSnapshot,
      String backend,
      PrivilegeLevel privilegeLevel,
      SandboxPool warm,
      SandboxPool faults) {
    this.settings = settings;
    this.helloSnapshot = helloSnapshot;
    this.backend = backend;
    this.privilegeLevel = privilegeLevel;
    this.warm = warm;
    this.faults = faults;
    this.coldPermits = new Semaphore(settings.maxColdInFlight());
  }

  /**
   * Builds the fleet: one {@code hello} sandbox first, to find the backend and fail early with its
   * message and to take the snapshot cold sandboxes start from, then the two pools.
   *
   * @param settings how to build it
   * @return the fleet, ready; the caller owns it and must close it
   * @throws dev.glint.hv.HypervisorException if no backend is available or it fails
   * @throws dev.glint.sandbox.SandboxException if a guest fails to initialize
   */
  public static SandboxFleet start(Settings settings) {
    byte[] hello = SampleGuests.load(SampleGuests.HELLO);
    String backend;
    PrivilegeLevel level;
    Snapshot snapshot;
    try (Sandbox first = builder(settings, hello).build()) {
      backend = first.backend();
      level = first.privilegeLevel();
      snapshot = first.snapshot();
    }
    SandboxPool warm;
    try {
      warm =
          SandboxPool.builder(builder(settings, hello))
              .minIdle(settings.warmMinIdle())
              .maxSize(settings.warmMaxSize())
              .acquireTimeout(settings.acquireTimeout())
              .build();
    } catch (RuntimeException | Error e) {
      snapshot.close();
      throw e;
    }
    SandboxPool faults;
    try {
      // A fault poisons its sandbox; the pool replaces it on release, so the next request finds
      // a fresh one. One idle member is enough for a route that only ever faults.
      faults =
          SandboxPool.builder(
                  builder(settings, SampleGuests.load(SampleGuests.FAULTS)).printTo(text -> {}))
              .minIdle(1)
              .maxSize(Math.max(2, Math.min(4, settings.warmMaxSize())))
              .acquireTimeout(settings.acquireTimeout())
              .build();
    } catch (RuntimeException | Error e) {
      warm.close();
      snapshot.close();
      throw e;
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        "sandbox fleet started on {0} at {1}: {2}, {3}",
        backend,
        level,
        warm,
        faults);
    return new SandboxFleet(settings, snapshot, backend, level, warm, faults);
  }

  private static Sandbox.Builder builder(Settings settings, byte[] guest) {
    Sandbox.Builder builder =
        Sandbox.builder()
            .guest(guest)
            .printTo(PrintCapture::print)
            .callTimeout(settings.callTimeout());
    if (settings.backend() != null) {
      builder.backend(settings.backend());
    }
    if (settings.privilegeLevel() != null) {
      builder.privilegeLevel(settings.privilegeLevel());
    }
    return builder;
  }

  /** {@return the backend's name, such as "kvm"} */
  public String backend() {
    return backend;
  }

  /** {@return the privilege level the guests' functions run at} */
  public PrivilegeLevel privilegeLevel() {
    return privilegeLevel;
  }

  /** {@return the settings the fleet was built with} */
  public Settings settings() {
    return settings;
  }

  /**
   * Builds a {@code hello} sandbox for this call only, from the fleet's snapshot of an initialized
   * one, calls {@code PrintOutput(message)} in it and closes it.
   *
   * @throws FleetBusyException if the most cold sandboxes are in flight for the acquire timeout
   * @throws InterruptedException if interrupted while waiting for a slot
   * @throws IllegalStateException if the fleet is closing
   */
  Greeting helloCold(String message) throws InterruptedException {
    if (!coldPermits.tryAcquire(settings.acquireTimeout().toNanos(), TimeUnit.NANOSECONDS)) {
      throw new FleetBusyException(
          "all %d cold sandboxes are in flight; try again".formatted(settings.maxColdInFlight()));
    }
    try {
      StringBuilder printed = new StringBuilder();
      Sandbox sandbox =
          Sandbox.builder()
              .snapshot(helloSnapshot)
              .printTo(PrintCapture::print)
              .callTimeout(settings.callTimeout())
              .build();
      try {
        synchronized (coldLock) {
          if (closing) {
            throw new IllegalStateException("the server is shutting down");
          }
          cold.add(sandbox);
        }
        int returned =
            PrintCapture.capturing(
                printed, () -> sandbox.call(PRINT_OUTPUT, ValueType.I32, message));
        return new Greeting(printed.toString(), returned);
      } finally {
        cold.remove(sandbox);
        sandbox.close();
      }
    } finally {
      coldPermits.release();
    }
  }

  /**
   * Calls {@code PrintOutput(message)} in a warm sandbox of the pool, which restores it on release.
   *
   * @throws dev.glint.sandbox.PoolExhaustedException if no warm sandbox came free in time
   * @throws InterruptedException if interrupted while waiting for one
   */
  Greeting helloWarm(String message) throws InterruptedException {
    StringBuilder printed = new StringBuilder();
    int returned =
        PrintCapture.capturing(printed, () -> warm.call(PRINT_OUTPUT, ValueType.I32, message));
    return new Greeting(printed.toString(), returned);
  }

  /**
   * Calls the {@code faults} guest's {@code NullDeref} in a pooled sandbox; the pool replaces the
   * sandbox it poisons.
   *
   * @return the function's result, if it did not fault (it always does)
   * @throws dev.glint.sandbox.GuestFaultException the page fault, as expected
   * @throws InterruptedException if interrupted while waiting for a sandbox
   */
  int derefNullPointer() throws InterruptedException {
    return faults.call(NULL_DEREF, ValueType.I32);
  }

  /** {@return the micro-VMs alive now: both pools' members and the cold sandboxes in flight} */
  public int vmsAlive() {
    return warm.stats().size() + faults.stats().size() + cold.size();
  }

  /** {@return the cold sandboxes alive now} */
  public int coldInFlight() {
    return cold.size();
  }

  /** {@return each pool's name and counters now} */
  List<PoolGauge> pools() {
    return List.of(new PoolGauge("hello", warm.stats()), new PoolGauge("faults", faults.stats()));
  }

  /**
   * A pool's counters under the name the metrics give it.
   *
   * @param name the pool's label, such as "hello"
   * @param stats its counters
   */
  record PoolGauge(String name, PoolStats stats) {}

  /**
   * Frees every micro-VM: refuses new cold sandboxes, closes the pools (waiting up to {@code bound}
   * for leased sandboxes to come back, then stopping them) and the cold sandboxes still in flight
   * (stopping their calls). Idempotent.
   *
   * @param bound the longest to wait for leased sandboxes
   * @return true if no sandbox had to be stopped
   */
  public boolean close(Duration bound) {
    synchronized (coldLock) {
      closing = true;
    }
    long deadline = System.nanoTime() + bound.toNanos();
    boolean clean = warm.close(bound);
    clean &= faults.close(remaining(deadline));
    try {
      while (!cold.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Sandbox sandbox : List.copyOf(cold)) {
      // Closing stops a running call; its request then answers with an error.
      clean = false;
      sandbox.close();
      cold.remove(sandbox);
    }
    // A cold sandbox may still be building from the snapshot: it holds a permit until it is closed.
    try {
      if (coldPermits.tryAcquire(
          settings.maxColdInFlight(),
          Math.max(remaining(deadline).toNanos(), SNAPSHOT_RELEASE_GRACE.toNanos()),
          TimeUnit.NANOSECONDS)) {
        coldPermits.release(settings.maxColdInFlight());
      } else {
        clean = false;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      clean = false;
    }
    helloSnapshot.close();
    return clean;
  }

  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
  }

  /** Frees every micro-VM, stopping calls still running at once. */
  @Override
  public void close() {
    close(Duration.ZERO);
  }
}
