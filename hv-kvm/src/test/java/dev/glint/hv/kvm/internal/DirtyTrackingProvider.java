package dev.glint.hv.kvm.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The KVM provider with the dirty tracking fixed, whatever the host and the properties would
 * choose: so one JVM runs the conformance suite over both paths. Named {@code kvm} like the real
 * one, so {@code -Dglint.conformance.require=kvm} covers these runs too.
 */
final class DirtyTrackingProvider implements HypervisorProvider {
  /** {@code KVM_GET_DIRTY_LOG}, the path where KVM has no ring. */
  static final DirtyTrackingProvider BITMAP = new DirtyTrackingProvider(false);

  /** The dirty ring (default size) where KVM has one, PVM included; the bitmap elsewhere. */
  static final DirtyTrackingProvider RING = new DirtyTrackingProvider(true);

  private final KvmHypervisorProvider kvm = new KvmHypervisorProvider();
  private final boolean ring;

  private DirtyTrackingProvider(boolean ring) {
    this.ring = ring;
  }

  @Override
  public String name() {
    return kvm.name();
  }

  @Override
  public int priority() {
    return kvm.priority();
  }

  @Override
  public Availability probe() {
    return kvm.probe();
  }

  @Override
  public Hypervisor open() {
    KvmHost host = KvmProbe.result().host().orElseThrow();
    return KvmHypervisor.open(
        host, ring && host.hasDirtyRing() ? KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES : 0);
  }
}
