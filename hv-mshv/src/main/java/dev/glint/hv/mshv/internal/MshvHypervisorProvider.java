package dev.glint.hv.mshv.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The mshv backend's {@link HypervisorProvider}, named {@code "mshv"}, priority 90: below KVM
 * (100), since a host that has both is better served by KVM's cheaper exits, and above the emulated
 * backend (0).
 *
 * <p>{@link #probe()} opens {@code /dev/mshv}, creates and initializes a partition, and installs
 * the handler of the signal that cancels a running VP (see {@link MshvKicker}); the answer is
 * computed once per process. It reports, with the fix: a missing device, a permission problem, a
 * device that does not speak the 6.15 uapi, native access not enabled, and the kill switch {@code
 * -Dglint.hv.mshv.disable=true}.
 *
 * <p><b>Thread safety:</b> thread-safe. The constructor does nothing.
 */
public final class MshvHypervisorProvider implements HypervisorProvider {

  /** Creates the provider; does no work (probing happens in {@link #probe()}). */
  public MshvHypervisorProvider() {}

  @Override
  public String name() {
    return MshvErrors.BACKEND;
  }

  @Override
  public int priority() {
    return 90;
  }

  @Override
  public Availability probe() {
    return MshvProbe.result().availability();
  }

  @Override
  public Hypervisor open() {
    MshvProbe.Result result = MshvProbe.result();
    if (result.availability() instanceof Availability.Unavailable(String reason, var cause)) {
      throw new HypervisorException(
          MshvErrors.BACKEND,
          "probe",
          HypervisorException.NO_ERROR_CODE,
          "",
          "mshv is unavailable: " + reason,
          cause.orElse(null));
    }
    return MshvHypervisor.open(result.host().orElseThrow());
  }
}
