package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.spi.HypervisorProvider;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** Where the reference is unavailable the differential tests skip, or fail when it is required. */
class BackendsGatingTest {
  private final String saved = System.getProperty(Backends.REQUIRE_PROPERTY);

  @AfterEach
  void restore() {
    if (saved == null) {
      System.clearProperty(Backends.REQUIRE_PROPERTY);
    } else {
      System.setProperty(Backends.REQUIRE_PROPERTY, saved);
    }
  }

  private static HypervisorProvider unavailable(String name) {
    return new HypervisorProvider() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public int priority() {
        return 0;
      }

      @Override
      public Availability probe() {
        return new Availability.Unavailable("/dev/kvm: no such device", Optional.empty());
      }

      @Override
      public Hypervisor open() {
        throw new AssertionError("an unavailable backend is never opened");
      }
    };
  }

  @Test
  void anUnavailableReferenceSkipsWithTheReason() {
    System.setProperty(Backends.REQUIRE_PROPERTY, "mshv");
    TestAbortedException skipped =
        assertThrows(TestAbortedException.class, () -> Backends.openOrSkip(unavailable("kvm")));
    assertTrue(skipped.getMessage().contains("no such device"), skipped.getMessage());
  }

  @Test
  void anUnavailableReferenceFailsWhenRequired() {
    System.setProperty(Backends.REQUIRE_PROPERTY, "mshv, kvm");
    AssertionFailedError failed =
        assertThrows(AssertionFailedError.class, () -> Backends.openOrSkip(unavailable("kvm")));
    assertTrue(failed.getMessage().contains("requires it"), failed.getMessage());
  }
}
