package dev.glint.hv.kvm;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * Runs the conformance suite against the KVM backend, found through ServiceLoader by its name as a
 * user would find it. Skipped with the probe's reason where {@code /dev/kvm} is unusable, unless
 * {@code -Dglint.conformance.require=kvm}.
 */
class KvmHypervisorConformanceTest extends HypervisorConformanceTest {

  @Override
  protected HypervisorProvider provider() {
    return providerNamed("kvm");
  }
}
