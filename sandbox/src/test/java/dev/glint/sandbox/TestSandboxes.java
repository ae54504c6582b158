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
 * Builders for end-to-end tests on the KVM backend. When KVM is unavailable a test is skipped with
 * the provider's reason, unless the system property {@code glint.conformance.require} names {@code
 * kvm} (as CI sets it where /dev/kvm opens): then it fails.
 */
final class TestSandboxes {
  static final String BACKEND = "kvm";
  static final String REQUIRE_PROPERTY = "glint.conformance.require";

  private TestSandboxes() {}

  /** Skips or fails the current test if KVM cannot be used. */
  static void requireKvm() {
    Optional<HypervisorProvider> provider = Hypervisors.provider(BACKEND);
    String reason =
        provider
            .map(HypervisorProvider::probe)
            .map(a -> a instanceof Availability.Unavailable(String why, var cause) ? why : null)
            .orElse(provider.isEmpty() ? "no 'kvm' provider on the class path" : null);
    if (reason == null) {
      return;
    }
    String message = "backend 'kvm' is unavailable: " + reason;
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
   * {@return whether KVM here runs CPL-0 guest code in its instruction emulator (PVM), where some
   * instructions (int3, SSE arithmetic) stop the VM instead of running; false if KVM is absent}
   */
  static boolean privilegedCodeIsEmulated() {
    return Hypervisors.provider(BACKEND)
        .map(HypervisorProvider::probe)
        .filter(a -> a instanceof Availability.Available)
        .map(a -> ((Availability.Available) a).privilegedExecution() != PrivilegedExecution.NATIVE)
        .orElse(false);
  }

  /** {@return a builder for sample guest {@code guest} on KVM at {@code level}} */
  static Sandbox.Builder builder(String guest, PrivilegeLevel level) {
    requireKvm();
    return Sandbox.builder().guest(SampleGuests.load(guest)).backend(BACKEND).privilegeLevel(level);
  }
}
