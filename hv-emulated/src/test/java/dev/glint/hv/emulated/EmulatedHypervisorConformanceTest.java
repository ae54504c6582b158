package dev.glint.hv.emulated;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/** The conformance suite on the emulated backend, found through ServiceLoader as users find it. */
class EmulatedHypervisorConformanceTest extends HypervisorConformanceTest {
  @Override
  protected HypervisorProvider provider() {
    return providerNamed("emulated");
  }
}
