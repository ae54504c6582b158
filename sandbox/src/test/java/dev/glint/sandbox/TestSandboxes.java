package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.guest.SampleGuests;
import dev.glint.hv.Availability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Builders for end-to-end tests on one backend: {@code kvm}, or the one the system property {@value
 * #BACKEND_PROPERTY} names, so a backend module can run every sandbox test on itself (see {@code
 * docs/backends.md}). When that backend is unavailable a test is skipped with the provider's
 * reason, unless the system property {@code glint.conformance.require} names it (as CI sets it for
 * {@code kvm} where /dev/kvm opens): then it fails.
 */
final class TestSandboxes {
  /** The system property naming the backend the sandbox tests run on. */
  static final String BACKEND_PROPERTY = "glint.test.backend";

  static final String BACKEND = System.getProperty(BACKEND_PROPERTY, "kvm");
  static final String REQUIRE_PROPERTY = "glint.conformance.require";

  private TestSandboxes() {}

  /** Skips or fails the current test if the backend under test cannot be used. */
  static void requireBackend() {
    Optional<HypervisorProvider> provider = Hypervisors.provider(BACKEND);
    String reason =
        provider
            .map(HypervisorProvider::probe)
            .map(a -> a instanceof Availability.Unavailable(String why, var cause) ? why : null)
            .orElse(provider.isEmpty() ? "no '" + BACKEND + "' provider on the class path" : null);
    if (reason == null) {
      return;
    }
    String message = "backend '" + BACKEND + "' is unavailable: " + reason;
    boolean required =
        Arrays.stream(System.getProperty(REQUIRE_PROPERTY, "").split(","))
            .map(String::strip)
            .anyMatch(BACKEND::equals);
    if (required) {
      fail(message + " (and -D" + REQUIRE_PROPERTY + " requires it)");
    }
    Assumptions.abort(message);
  }

  /**
   * {@return whether the backend under test runs CPL-0 guest code in KVM's instruction emulator
   * (PVM), where some instructions (int3, SSE arithmetic) stop the VM instead of running; false if
   * the backend is absent or runs privileged code natively or in a full interpreter}
   */
  static boolean privilegedCodeIsEmulated() {
    return Hypervisors.provider(BACKEND)
        .map(HypervisorProvider::probe)
        .filter(a -> a instanceof Availability.Available)
        .map(
            a -> ((Availability.Available) a).privilegedExecution() == PrivilegedExecution.EMULATED)
        .orElse(false);
  }

  /**
   * {@return whether the backend under test interprets every guest instruction (the emulated
   * backend), so that long guest computations take far longer than on a hypervisor and tests scale
   * their work down}
   */
  static boolean backendInterprets() {
    return Hypervisors.provider(BACKEND)
        .map(HypervisorProvider::probe)
        .filter(a -> a instanceof Availability.Available)
        .map(
            a ->
                ((Availability.Available) a).privilegedExecution()
                    == PrivilegedExecution.INTERPRETED)
        .orElse(false);
  }

  /**
   * {@return whether the backend under test reports {@code capability}; false if it is absent or
   * unavailable}
   */
  static boolean backendHas(dev.glint.hv.Capability capability) {
    return Hypervisors.provider(BACKEND)
        .map(HypervisorProvider::probe)
        .filter(a -> a instanceof Availability.Available)
        .map(a -> ((Availability.Available) a).capabilities().contains(capability))
        .orElse(false);
  }

  /**
   * {@return a builder for sample guest {@code guest} on the backend under test at {@code level}}
   */
  static Sandbox.Builder builder(String guest, PrivilegeLevel level) {
    requireBackend();
    return Sandbox.builder().guest(SampleGuests.load(guest)).backend(BACKEND).privilegeLevel(level);
  }
}
