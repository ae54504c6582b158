package dev.glint.differential;

import dev.glint.hv.Capability;
import dev.glint.hv.Hypervisor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/**
 * Runs cases on two backends from the same start state and compares the outcomes: the reference
 * (the real CPU, through KVM at CPL 3) and the backend under test (the emulator). Every case's code
 * runs at CPL 3 on both sides, in the same {@code dev.glint.hv.x86} layout; faults reach the
 * guest's IDT, whose handlers report them to the host.
 *
 * <p>Not thread-safe: one thread runs the cases. The tester owns one partition on each backend,
 * reused from case to case; {@link #close()} closes them, not the hypervisors.
 */
public final class DifferentialTester implements AutoCloseable {
  private final ScheduledExecutorService watchdog;
  private final Machine reference;
  private final Machine candidate;

  /**
   * Creates partitions on both backends.
   *
   * @param referenceBackend the reference, open; it must provide {@link Capability#USER_MODE_ENTRY}
   * @param candidateBackend the backend under test, open; it must provide it too
   * @throws IllegalArgumentException if a backend cannot start code at CPL 3
   */
  public DifferentialTester(Hypervisor referenceBackend, Hypervisor candidateBackend) {
    for (Hypervisor h : List.of(referenceBackend, candidateBackend)) {
      if (!h.has(Capability.USER_MODE_ENTRY)) {
        throw new IllegalArgumentException(
            "backend '%s' cannot start code at CPL 3 (no USER_MODE_ENTRY)".formatted(h.name()));
      }
    }
    this.watchdog =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "differential-watchdog");
              thread.setDaemon(true);
              return thread;
            });
    Machine first = null;
    try {
      first = new Machine(referenceBackend, watchdog);
      this.candidate = new Machine(candidateBackend, watchdog);
    } catch (RuntimeException | Error e) {
      if (first != null) {
        first.close();
      }
      watchdog.shutdownNow();
      throw e;
    }
    this.reference = first;
  }

  /** {@return the reference backend's name} */
  public String referenceName() {
    return reference.name();
  }

  /** {@return the name of the backend under test} */
  public String candidateName() {
    return candidate.name();
  }

  /** {@return the reference backend's outcome of {@code testCase}} */
  public Outcome runReference(TestCase testCase) {
    return reference.run(testCase);
  }

  /** {@return the mismatch of {@code testCase}, or empty if both backends agree} */
  public Optional<Mismatch> check(TestCase testCase) {
    Outcome a = reference.run(testCase);
    Outcome b = candidate.run(testCase);
    return Mismatch.compare(testCase, reference.name(), a, candidate.name(), b);
  }

  /**
   * Runs cases {@code 0 .. cases-1} of {@code seed}.
   *
   * @param generator makes the cases
   * @param seed the run's seed
   * @param cases how many
   * @param known mismatches to exclude (they are counted, not failed)
   * @param onMismatch called with each mismatch not known, as it is found
   * @return the report
   */
  public DifferentialReport run(
      CaseGenerator generator,
      long seed,
      int cases,
      KnownMismatches known,
      Consumer<Mismatch> onMismatch) {
    long start = System.nanoTime();
    List<Mismatch> mismatches = new ArrayList<>();
    List<String> excluded = new ArrayList<>();
    int faults = 0;
    for (int i = 0; i < cases; i++) {
      TestCase testCase = generator.generate(seed, i);
      Outcome a = reference.run(testCase);
      Outcome b = candidate.run(testCase);
      if (a.events().getLast() instanceof GuestEvent.Fault) {
        faults++;
      }
      Optional<Mismatch> mismatch =
          Mismatch.compare(testCase, reference.name(), a, candidate.name(), b);
      if (mismatch.isPresent()) {
        Optional<String> reason = known.reason(testCase.name());
        if (reason.isPresent()) {
          excluded.add(testCase.name() + ": " + reason.get());
        } else {
          mismatches.add(mismatch.get());
          onMismatch.accept(mismatch.get());
        }
      }
    }
    return new DifferentialReport(
        reference.name(),
        candidate.name(),
        seed,
        cases,
        mismatches,
        excluded,
        faults,
        Duration.ofNanos(System.nanoTime() - start));
  }

  /** Closes both partitions (not the hypervisors). Idempotent. */
  @Override
  public void close() {
    try {
      reference.close();
    } finally {
      try {
        candidate.close();
      } finally {
        watchdog.shutdownNow();
      }
    }
  }
}
