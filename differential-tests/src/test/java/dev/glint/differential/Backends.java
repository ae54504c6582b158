package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;

/**
 * Opens the backends of the differential tests, found through ServiceLoader as a user finds them.
 * The reference is KVM: where it is unavailable the tests are skipped with the reason, unless
 * {@code -Dglint.conformance.require} names {@code kvm} (as {@code .ci/run} sets it where {@code
 * /dev/kvm} opens), in which case they fail.
 */
final class Backends {
  private Backends() {}

  /** The property the conformance suite and CI use to require a backend. */
  static final String REQUIRE_PROPERTY = "glint.conformance.require";

  /** {@return the open reference backend, KVM, or skips (or fails) the test} */
  static Hypervisor reference() {
    return openOrSkip("kvm");
  }

  /**
   * {@return the name of the backend under test: the emulator once it is on the class path, else
   * KVM itself (which proves the harness: it must agree with itself)}
   */
  static String candidateName() {
    return Hypervisors.provider("emulated").isPresent() ? "emulated" : "kvm";
  }

  /** {@return the open backend under test} */
  static Hypervisor candidate() {
    return openOrSkip(candidateName());
  }

  static Hypervisor openOrSkip(String name) {
    return openOrSkip(
        Hypervisors.provider(name)
            .orElseThrow(
                () -> new AssertionError("no backend '%s' on the class path".formatted(name))));
  }

  static Hypervisor openOrSkip(HypervisorProvider provider) {
    String name = provider.name();
    if (provider.probe() instanceof Availability.Unavailable(String reason, var cause)) {
      String message = "backend '%s' is unavailable: %s".formatted(name, reason);
      boolean required =
          Arrays.stream(System.getProperty(REQUIRE_PROPERTY, "").split(","))
              .map(String::strip)
              .anyMatch(name::equals);
      if (required) {
        fail(message + " (and -D%s requires it)".formatted(REQUIRE_PROPERTY), cause.orElse(null));
      }
      Assumptions.abort(message);
    }
    return provider.open();
  }
}
