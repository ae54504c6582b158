package dev.glint.hv.mshv;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * Runs the conformance suite against the mshv backend, found through ServiceLoader by its name as a
 * user would find it. In this module's build it runs through the ABI double of {@code /dev/mshv}
 * (libmshvdouble.so, named by {@code -Dglint.hv.mshv.libc}) and is mandatory wherever {@code
 * /dev/kvm} opens (see {@link MshvDoubleRequirement}); on a real Microsoft Hypervisor root
 * partition it runs against {@code /dev/mshv} itself (docs/backends.md).
 */
class MshvHypervisorConformanceTest extends HypervisorConformanceTest {

  @Override
  protected HypervisorProvider provider() {
    return providerNamed("mshv");
  }
}
