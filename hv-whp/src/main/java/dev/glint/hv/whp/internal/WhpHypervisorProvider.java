package dev.glint.hv.whp.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The Windows Hypervisor Platform backend's {@link HypervisorProvider}, named {@code "whp"},
 * priority 90: the tier of the other hardware backends (only one of kvm, mshv and whp is ever
 * available on a host), above the emulated backend (0).
 *
 * <p>{@link #probe()} loads {@code WinHvPlatform.dll} (or the library {@code
 * -Dglint.hv.whp.library} names), asks {@code WHvGetCapability} whether the hypervisor is present
 * and what it offers, and creates and deletes one partition; the answer is computed once per
 * process. Its reasons name the fix: not Windows and no library named, the DLL missing (enable the
 * "Windows Hypervisor Platform" feature), the hypervisor not present (enable Hyper-V and
 * virtualization in firmware), native access not enabled, the kill switch {@code
 * -Dglint.hv.whp.disable=true}.
 *
 * <p><b>Thread safety:</b> thread-safe. The constructor does nothing.
 */
public final class WhpHypervisorProvider implements HypervisorProvider {

  /** Creates the provider; does no work (probing happens in {@link #probe()}). */
  public WhpHypervisorProvider() {}

  @Override
  public String name() {
    return WhpErrors.BACKEND;
  }

  @Override
  public int priority() {
    return 90;
  }

  @Override
  public Availability probe() {
    return WhpProbe.result().availability();
  }

  @Override
  public Hypervisor open() {
    WhpProbe.Result result = WhpProbe.result();
    if (result.availability() instanceof Availability.Unavailable(String reason, var cause)) {
      throw new HypervisorException(
          WhpErrors.BACKEND,
          "probe",
          HypervisorException.NO_ERROR_CODE,
          "",
          "the Windows Hypervisor Platform is unavailable: " + reason,
          cause.orElse(null));
    }
    return new WhpHypervisor(result.host().orElseThrow());
  }
}
