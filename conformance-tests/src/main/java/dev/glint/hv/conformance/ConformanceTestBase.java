package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.spi.HypervisorProvider;
import java.util.Arrays;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * What every group of conformance tests shares: the provider under test, the availability gate, one
 * open {@link Hypervisor} per test, and capability requirements.
 *
 * <p>Before each test the provider is {@linkplain HypervisorProvider#probe() probed}. If it is
 * unavailable the test is skipped with the provider's reason, unless the system property {@value
 * #REQUIRE_PROPERTY} names the provider (a comma-separated list), in which case it fails with that
 * reason: a CI lane that must exercise a backend sets {@code -Dglint.conformance.require=kvm}.
 *
 * <p>A test that needs an optional {@link Capability} calls {@link #requires} first; when the
 * backend reports the capability absent the test is skipped with that reason, never passed.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class ConformanceTestBase {

  /** The system property listing backends whose unavailability fails the suite. */
  public static final String REQUIRE_PROPERTY = "glint.conformance.require";

  private Hypervisor hypervisor;

  /** Creates the test instance; JUnit calls it. */
  protected ConformanceTestBase() {}

  /** {@return the provider under test; called once per test, so it should be cheap} */
  protected abstract HypervisorProvider provider();

  /**
   * Probes the provider, skips or fails when it is unavailable, and opens the hypervisor for the
   * test.
   */
  @BeforeEach
  protected final void openHypervisor() {
    HypervisorProvider provider = provider();
    if (provider.probe() instanceof Availability.Unavailable(String reason, var cause)) {
      String message = "backend '%s' is unavailable: %s".formatted(provider.name(), reason);
      if (requiredBackends().contains(provider.name())) {
        fail(message + " (and -D%s requires it)".formatted(REQUIRE_PROPERTY), cause.orElse(null));
      }
      Assumptions.abort(message);
    }
    hypervisor = provider.open();
  }

  /** Closes the hypervisor, which closes every partition and memory a test left open. */
  @AfterEach
  protected final void closeHypervisor() {
    if (hypervisor != null) {
      hypervisor.close();
      hypervisor = null;
    }
  }

  /** {@return the backends named by {@value #REQUIRE_PROPERTY}} */
  static Set<String> requiredBackends() {
    return Arrays.stream(System.getProperty(REQUIRE_PROPERTY, "").split(","))
        .map(String::strip)
        .filter(name -> !name.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
  }

  /** {@return the hypervisor opened for this test} */
  protected final Hypervisor hypervisor() {
    return hypervisor;
  }

  /** Skips the test, with the reason, unless the backend provides every one of {@code needed}. */
  protected final void requires(Capability... needed) {
    for (Capability capability : needed) {
      Assumptions.assumeTrue(
          hypervisor.has(capability),
          () ->
              "backend '%s' does not provide %s, which this test needs"
                  .formatted(hypervisor.name(), capability));
    }
  }

  /** Skips the test unless the backend can start code at {@code privilege}. */
  final void requires(TestGuest.Privilege privilege) {
    if (privilege == TestGuest.Privilege.USER) {
      requires(Capability.USER_MODE_ENTRY);
    }
  }

  /** {@return a new long-mode test guest, closed with the hypervisor if not before} */
  final TestGuest longModeGuest() {
    return TestGuest.longMode(hypervisor, testLabel());
  }

  /** {@return a new real-mode test guest} */
  final TestGuest realModeGuest() {
    return TestGuest.realMode(hypervisor, testLabel());
  }

  private String testLabel() {
    return "conformance-" + getClass().getSimpleName();
  }

  /**
   * Asserts that an exception's message contains a match of {@code regex} (case-insensitive): the
   * phrase that tells a user what to fix.
   */
  static void assertMessage(Throwable thrown, String regex) {
    String message = String.valueOf(thrown.getMessage());
    assertTrue(
        Pattern.compile(regex, Pattern.CASE_INSENSITIVE).matcher(message).find(),
        () ->
            "the message of %s should match /%s/ but is: %s"
                .formatted(thrown.getClass().getSimpleName(), regex, message));
  }
}
