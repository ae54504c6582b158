package dev.glint.hv.kvm.internal;

import dev.glint.hv.conformance.HypervisorConformanceTest;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The whole conformance suite with dirty pages read by {@code KVM_GET_DIRTY_LOG} ({@code
 * -Dglint.hv.kvm.dirtyRing=false}, the default on PVM, and the only path where KVM has no ring).
 * With {@code KvmDirtyRingConformanceTest} beside it, both paths keep the SPI's promises on every
 * host, whichever one the default picks there, and neither leaks.
 */
class KvmBitmapDirtyLogConformanceTest extends HypervisorConformanceTest {
  @Override
  protected HypervisorProvider provider() {
    return DirtyTrackingProvider.BITMAP;
  }
}
