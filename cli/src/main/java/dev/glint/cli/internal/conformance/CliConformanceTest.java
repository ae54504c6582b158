package dev.glint.cli.internal.conformance;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;
import java.util.Objects;

/**
 * The conformance suite against the backend {@code glint conformance} was asked for: one subclass
 * of {@link HypervisorConformanceTest}, as every backend writes, whose provider is chosen by name
 * at run time rather than in the source. {@link ConformanceRun} sets the name before it launches
 * the suite; the provider is found through {@link java.util.ServiceLoader}, as users find it.
 */
public final class CliConformanceTest extends HypervisorConformanceTest {
  // Read by every test on the JUnit Platform's threads; set once per run, before it starts.
  private static volatile String backend = "kvm";

  /** Creates the test instance; the JUnit Platform calls it. */
  public CliConformanceTest() {}

  /** Chooses the backend the next run tests. */
  static void backend(String name) {
    backend = Objects.requireNonNull(name, "name");
  }

  @Override
  protected HypervisorProvider provider() {
    return providerNamed(backend);
  }
}
