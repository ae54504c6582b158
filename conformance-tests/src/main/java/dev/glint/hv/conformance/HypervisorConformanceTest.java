package dev.glint.hv.conformance;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.util.Objects;
import org.junit.jupiter.api.Nested;

/**
 * The conformance suite every hypervisor backend must pass. A backend runs all of it with one
 * subclass that overrides only {@link #provider()}:
 *
 * {@snippet :
 * class KvmHypervisorConformanceTest extends HypervisorConformanceTest {
 *   @Override
 *   protected HypervisorProvider provider() {
 *     return providerNamed("kvm"); // found through ServiceLoader, as users find it
 *   }
 * }
 * }
 *
 * <p>The tests are grouped in nested classes (execution modes, user mode, port I/O, memory,
 * concurrency, resources, arguments), so each (test, backend) pair is reported on its own, as
 * {@code KvmHypervisorConformanceTest > Memory > mmioReads...}. Each group is also a public
 * abstract class a backend may subclass alone.
 *
 * <p>When the provider is unavailable, every test is skipped with the provider's reason; when the
 * system property {@value ConformanceTestBase#REQUIRE_PROPERTY} names it, every test fails with
 * that reason instead. A test that needs an optional {@link dev.glint.hv.Capability} the backend
 * reports absent is skipped with that reason.
 *
 * <p>Guests are tiny: byte arrays with their assembly beside them, CPL-0 parts kept to a few
 * instructions (on a PVM host each costs about a microsecond).
 */
public abstract class HypervisorConformanceTest {

  /** Creates the test instance; JUnit calls it. */
  protected HypervisorConformanceTest() {}

  /** {@return the provider under test; called once per test, so it should be cheap} */
  protected abstract HypervisorProvider provider();

  /**
   * {@return the provider called {@code name}, found through {@link Hypervisors} (ServiceLoader),
   * or, if none is on the class or module path, a provider that reports itself unavailable with
   * that reason} So a missing backend jar is a skip, or a failure under {@value
   * ConformanceTestBase#REQUIRE_PROPERTY}, rather than an error in every test.
   *
   * @param name the backend's name, such as "kvm"
   */
  protected static HypervisorProvider providerNamed(String name) {
    Objects.requireNonNull(name, "name");
    return Hypervisors.provider(name).orElseGet(() -> new MissingProvider(name));
  }

  /** Entry in real mode and long mode, halt, shutdown, register round trips. */
  @Nested
  class ExecutionModes extends ExecutionModeTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** CPL-3 code: the I/O permission bitmap, #GP and #PF into the CPL-0 IDT. */
  @Nested
  class UserMode extends UserModeTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** {@code out} and {@code in}. */
  @Nested
  class PortIo extends PortIoTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** MMIO, read-only memory, several mappings, unmap, isolation, dirty pages. */
  @Nested
  class Memory extends MemoryTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** Cancel from another thread, partitions in parallel. */
  @Nested
  class Concurrency extends ConcurrencyTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** No file descriptor or mapping left behind. */
  @Nested
  class Resources extends ResourceTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** Memory images, copy-on-write clones and resetting pages. */
  @Nested
  class Images extends ImageTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** Settling an exit before saving or restoring vCPU state. */
  @Nested
  class Settle extends SettleTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** x87/SSE state: set, read back, seen by the guest. */
  @Nested
  class Fpu extends FpuTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** Misuse fails with the documented exception and a helpful message. */
  @Nested
  class Arguments extends ArgumentTests {
    @Override
    protected HypervisorProvider provider() {
      return HypervisorConformanceTest.this.provider();
    }
  }

  /** Stands for a backend that is not on the class or module path. */
  private record MissingProvider(String name) implements HypervisorProvider {
    @Override
    public int priority() {
      return Integer.MIN_VALUE;
    }

    @Override
    public Availability probe() {
      return Availability.Unavailable.because(
          "no provider named '%s' is on the class or module path (found: %s); add the backend's jar"
              .formatted(
                  name, Hypervisors.providers().stream().map(HypervisorProvider::name).toList()));
    }

    @Override
    public Hypervisor open() {
      throw new HypervisorException(
          name,
          "open",
          HypervisorException.NO_ERROR_CODE,
          "",
          ((Availability.Unavailable) probe()).reason(),
          null);
    }
  }
}
