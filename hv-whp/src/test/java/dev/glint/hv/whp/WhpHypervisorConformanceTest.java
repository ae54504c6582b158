package dev.glint.hv.whp;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * Runs the conformance suite against the WHP backend, found through ServiceLoader by its name as a
 * user would find it. In this build it runs through the ABI double of {@code WinHvPlatform.dll} on
 * KVM, and is required (a skip fails) wherever {@code /dev/kvm} opens; on Windows, run it with the
 * real library (docs/backends.md).
 */
class WhpHypervisorConformanceTest extends HypervisorConformanceTest {
  static {
    WhpTestHost.requireWhpWhereKvmOpens();
  }

  @Override
  protected HypervisorProvider provider() {
    return providerNamed("whp");
  }
}
