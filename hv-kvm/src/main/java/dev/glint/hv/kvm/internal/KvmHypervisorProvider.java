package dev.glint.hv.kvm.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The KVM backend's {@link HypervisorProvider}, named {@code "kvm"}, priority 100.
 *
 * <p>{@link #probe()} opens {@code /dev/kvm}, checks {@code KVM_GET_API_VERSION} (12) and the
 * capabilities the backend uses, and installs the handler of the signal that cancels a running vCPU
 * (see {@link KvmKicker}); the answer is computed once per process. It reports, with the fix: a
 * missing {@code /dev/kvm}, a permission problem, a wrong API version, a missing capability, native
 * access not enabled ({@code --enable-native-access=dev.glint.hv.kvm}, or {@code ALL-UNNAMED} on
 * the class path), and the kill switch {@code -Dglint.hv.kvm.disable=true}.
 *
 * <p><b>Thread safety:</b> thread-safe. The constructor does nothing.
 */
public final class KvmHypervisorProvider implements HypervisorProvider {

  /** Creates the provider; does no work (probing happens in {@link #probe()}). */
  public KvmHypervisorProvider() {}

  @Override
  public String name() {
    return KvmErrors.BACKEND;
  }

  @Override
  public int priority() {
    return 100;
  }

  @Override
  public Availability probe() {
    return KvmProbe.result().availability();
  }

  @Override
  public Hypervisor open() {
    KvmProbe.Result result = KvmProbe.result();
    if (result.availability() instanceof Availability.Unavailable(String reason, var cause)) {
      throw new HypervisorException(
          KvmErrors.BACKEND,
          "probe",
          HypervisorException.NO_ERROR_CODE,
          "",
          "KVM is unavailable: " + reason,
          cause.orElse(null));
    }
    return KvmHypervisor.open(result.host().orElseThrow());
  }
}
