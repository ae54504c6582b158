package dev.glint.hv.kvm.internal;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The whole conformance suite with dirty pages taken from KVM's dirty ring wherever KVM has one,
 * PVM included ({@code -Dglint.hv.kvm.dirtyRing=true}; the default on VMX/SVM hosts). See {@code
 * KvmBitmapDirtyLogConformanceTest} for the other path.
 */
class KvmDirtyRingConformanceTest extends HypervisorConformanceTest {
  @Override
  protected HypervisorProvider provider() {
    return DirtyTrackingProvider.RING;
  }
}
