package dev.glint.hv.conformance.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.conformance.ConformanceTestBase;
import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the whole suite, as a backend's subclass would, against a provider that is unavailable:
 * every test must be skipped (aborted) with the provider's reason, or fail with it when the backend
 * is required. Written from outside the suite's package, as a third party would.
 */
class ConformanceGatingTest {

  private static final String REASON = "fake backend: /dev/fake is missing; load the fake module";

  /** An unavailable backend; never opened. */
  static final class UnavailableProvider implements HypervisorProvider {
    @Override
    public String name() {
      return "fake";
    }

    @Override
    public int priority() {
      return 0;
    }

    @Override
    public Availability probe() {
      return Availability.Unavailable.because(REASON);
    }

    @Override
    public Hypervisor open() {
      throw new HypervisorException("fake", "open", 0, "", REASON, null);
    }
  }

  /** The subclass a backend writes: only the provider. Run by the launcher, not by Surefire. */
  static final class FakeConformanceTest extends HypervisorConformanceTest {
    @Override
    protected HypervisorProvider provider() {
      return new UnavailableProvider();
    }

    static HypervisorProvider lookUp(String name) {
      return providerNamed(name);
    }
  }

  /** One finished test (not a container) and how it ended. */
  private record Outcome(String name, TestExecutionResult result) {}

  @AfterEach
  void clearRequirement() {
    System.clearProperty(ConformanceTestBase.REQUIRE_PROPERTY);
  }

  @Test
  void everyTestOfAnUnavailableBackendIsSkippedWithTheProvidersReason() {
    List<Outcome> outcomes = runSuite();
    assertTrue(outcomes.size() >= 40, () -> "only " + outcomes.size() + " tests ran");
    for (Outcome outcome : outcomes) {
      assertEquals(
          TestExecutionResult.Status.ABORTED, outcome.result().getStatus(), outcome.name());
      String message = outcome.result().getThrowable().orElseThrow().getMessage();
      assertTrue(message.contains("backend 'fake' is unavailable: " + REASON), message);
    }
  }

  @Test
  void everyTestOfARequiredUnavailableBackendFailsWithTheProvidersReason() {
    System.setProperty(ConformanceTestBase.REQUIRE_PROPERTY, "kvm, fake");
    List<Outcome> outcomes = runSuite();
    assertFalse(outcomes.isEmpty());
    for (Outcome outcome : outcomes) {
      assertEquals(TestExecutionResult.Status.FAILED, outcome.result().getStatus(), outcome.name());
      String message = outcome.result().getThrowable().orElseThrow().getMessage();
      assertTrue(message.contains(REASON), message);
      assertTrue(message.contains(ConformanceTestBase.REQUIRE_PROPERTY), message);
    }
  }

  @Test
  void aBackendMissingFromTheClassPathIsUnavailableWithAReason() {
    HypervisorProvider missing = FakeConformanceTest.lookUp("no-such-backend");
    assertEquals("no-such-backend", missing.name());
    var unavailable = assertInstanceOf(Availability.Unavailable.class, missing.probe());
    assertTrue(
        unavailable.reason().contains("no provider named 'no-such-backend'"), unavailable.reason());
  }

  private static List<Outcome> runSuite() {
    List<Outcome> outcomes = new ArrayList<>();
    Launcher launcher = LauncherFactory.create();
    launcher.execute(
        LauncherDiscoveryRequestBuilder.request()
            .selectors(selectClass(FakeConformanceTest.class))
            .build(),
        new TestExecutionListener() {
          @Override
          public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (test.isTest()) {
              outcomes.add(new Outcome(test.getDisplayName(), result));
            }
          }

          @Override
          public void executionSkipped(TestIdentifier test, String reason) {
            outcomes.add(new Outcome(test.getDisplayName(), TestExecutionResult.aborted(null)));
          }
        });
    return outcomes;
  }
}
