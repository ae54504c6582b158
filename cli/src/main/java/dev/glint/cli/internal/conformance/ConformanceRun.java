package dev.glint.cli.internal.conformance;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectUniqueId;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the conformance suite ({@link CliConformanceTest}) against one backend through the JUnit
 * Platform launcher, and collects every test's outcome under its group (the suite's nested class,
 * such as {@code Memory}).
 *
 * <p>Not thread-safe: one run at a time per process (the backend under test is a static setting of
 * the test class).
 */
public final class ConformanceRun {

  /** How a test ended. */
  public enum Status {
    /** It ran and passed. */
    PASSED,
    /** It did not run, or stopped on an assumption: a missing capability, say. */
    SKIPPED,
    /** It failed or broke. */
    FAILED
  }

  /**
   * One test's outcome.
   *
   * @param group the suite's group, such as "Memory"
   * @param name the test, such as "mmioReadsAtCpl3()" or "cancel(Privilege) [1] USER"
   * @param status how it ended
   * @param reason why it was skipped or failed; empty when it passed
   * @param failure the exception of a failed test, or null
   */
  public record TestResult(
      String group, String name, Status status, String reason, Throwable failure) {}

  /**
   * A whole run.
   *
   * @param backend the backend tested
   * @param results every test's outcome, in the order they ended
   * @param took how long the run took
   */
  public record Report(String backend, List<TestResult> results, Duration took) {
    /** Copies the results. */
    public Report {
      results = List.copyOf(results);
    }

    /**
     * {@return how many tests ended with {@code status}}
     *
     * @param status the outcome to count
     */
    public long count(Status status) {
      return results.stream().filter(r -> r.status() == status).count();
    }

    /** {@return the results by group, groups in the order their first test ended} */
    public Map<String, List<TestResult>> byGroup() {
      Map<String, List<TestResult>> groups = new LinkedHashMap<>();
      for (TestResult result : results) {
        groups.computeIfAbsent(result.group(), g -> new ArrayList<>()).add(result);
      }
      return groups;
    }
  }

  private ConformanceRun() {}

  /** {@return the suite's groups (its nested classes), such as "Memory", sorted} */
  public static Set<String> groups() {
    TestPlan plan = LauncherFactory.create().discover(wholeSuite());
    Set<String> groups = new TreeSet<>();
    for (TestIdentifier root : plan.getRoots()) {
      for (TestIdentifier suite : plan.getChildren(root)) {
        for (TestIdentifier group : plan.getChildren(suite)) {
          groups.add(group.getDisplayName());
        }
      }
    }
    return groups;
  }

  /**
   * Runs the suite, or the given groups of it, against {@code backend}.
   *
   * @param backend the backend's name, as its provider gives it
   * @param only the groups to run; empty for all (names from {@link #groups()})
   * @param onEach told of each test's outcome as it ends (for progress)
   * @return the report
   * @throws IllegalArgumentException if a group does not exist
   */
  public static Report run(String backend, Set<String> only, Consumer<TestResult> onEach) {
    Launcher launcher = LauncherFactory.create();
    LauncherDiscoveryRequest request = wholeSuite();
    if (!only.isEmpty()) {
      TestPlan plan = launcher.discover(request);
      List<DiscoverySelector> selectors = new ArrayList<>();
      Set<String> found = new TreeSet<>();
      for (TestIdentifier root : plan.getRoots()) {
        for (TestIdentifier suite : plan.getChildren(root)) {
          for (TestIdentifier group : plan.getChildren(suite)) {
            found.add(group.getDisplayName());
            if (only.contains(group.getDisplayName())) {
              selectors.add(selectUniqueId(group.getUniqueIdObject()));
            }
          }
        }
      }
      Set<String> unknown = new TreeSet<>(only);
      unknown.removeAll(found);
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException(
            "no group named %s; the suite's groups are %s".formatted(unknown, found));
      }
      request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
    }
    CliConformanceTest.backend(backend);
    Collector collector = new Collector(onEach);
    long start = System.nanoTime();
    launcher.execute(request, collector);
    return new Report(backend, collector.results, Duration.ofNanos(System.nanoTime() - start));
  }

  private static LauncherDiscoveryRequest wholeSuite() {
    return LauncherDiscoveryRequestBuilder.request()
        .selectors(selectClass(CliConformanceTest.class))
        // Only the suite runs here: no extensions found on the module path join in.
        .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false")
        .build();
  }

  /** Collects outcomes as the launcher reports them. */
  private static final class Collector implements TestExecutionListener {
    private final Consumer<TestResult> onEach;
    private final List<TestResult> results = Collections.synchronizedList(new ArrayList<>());
    private TestPlan plan;

    Collector(Consumer<TestResult> onEach) {
      this.onEach = onEach;
    }

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
      plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
      if (id.isTest()) {
        add(new TestResult(group(id), name(id), Status.SKIPPED, reason, null));
      } else {
        // A skipped container skips every test in it, and the launcher reports only the container.
        for (TestIdentifier test : plan.getDescendants(id)) {
          if (test.isTest()) {
            add(new TestResult(group(test), name(test), Status.SKIPPED, reason, null));
          }
        }
      }
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
      Optional<Throwable> thrown = result.getThrowable();
      String reason = thrown.map(ConformanceRun::message).orElse("");
      if (id.isTest()) {
        Status status =
            switch (result.getStatus()) {
              case SUCCESSFUL -> Status.PASSED;
              case ABORTED -> Status.SKIPPED;
              case FAILED -> Status.FAILED;
            };
        add(
            new TestResult(
                group(id),
                name(id),
                status,
                reason,
                status == Status.FAILED ? thrown.orElse(null) : null));
      } else if (result.getStatus() == TestExecutionResult.Status.FAILED) {
        // A container that failed by itself (set-up, discovery): report it as a failure of its
        // own, or it would pass unnoticed.
        add(
            new TestResult(
                group(id),
                "(" + id.getDisplayName() + ")",
                Status.FAILED,
                reason,
                thrown.orElse(null)));
      }
    }

    private void add(TestResult result) {
      results.add(result);
      onEach.accept(result);
    }

    /** {@return the group: the nested class of the suite that holds {@code id}} */
    private String group(TestIdentifier id) {
      TestIdentifier current = id;
      while (true) {
        Optional<TestIdentifier> parent = plan.getParent(current);
        if (parent.isEmpty()) {
          return current.getDisplayName();
        }
        if (isClass(current) && isClass(parent.get())) {
          return current.getDisplayName();
        }
        if (isClass(current)) {
          return "(suite)";
        }
        current = parent.get();
      }
    }

    private static boolean isClass(TestIdentifier id) {
      Optional<TestSource> source = id.getSource();
      return source.isPresent() && source.get() instanceof ClassSource;
    }

    /** {@return the test's name; a parameterized test's with its invocation} */
    private String name(TestIdentifier id) {
      Optional<TestIdentifier> parent = plan.getParent(id);
      if (parent.isPresent() && !isClass(parent.get())) {
        return parent.get().getDisplayName() + " " + id.getDisplayName();
      }
      return id.getDisplayName();
    }
  }

  private static String message(Throwable thrown) {
    String message = thrown.getMessage();
    if (message == null || message.isBlank()) {
      return thrown.getClass().getName();
    }
    // A skip's reason is the assumption's message; JUnit's prefix adds nothing to it.
    String prefix = "Assumption failed: ";
    return message.startsWith(prefix)
        ? message.substring(prefix.length()).strip()
        : message.strip();
  }
}
