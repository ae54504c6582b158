package dev.glint.hv.emulated.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;

/**
 * The emulated backend's {@link HypervisorProvider}, named {@code "emulated"}, priority 0: the
 * lowest of the backends, so it is chosen only where no hypervisor is available. It needs no device
 * and no native access, so it is available everywhere, unless switched off with {@code
 * -Dglint.hv.emulated.disable=true}.
 *
 * <p><b>Thread safety:</b> thread-safe. The constructor does nothing.
 */
public final class EmulatedHypervisorProvider implements HypervisorProvider {
  static final String NAME = "emulated";
  static final String DISABLE_PROPERTY = "glint.hv.emulated.disable";

  /** Creates the provider; does no work. */
  public EmulatedHypervisorProvider() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int priority() {
    return 0;
  }

  @Override
  public Availability probe() {
    if (Boolean.getBoolean(DISABLE_PROPERTY)) {
      return Availability.Unavailable.because(
          "the emulated backend is switched off by -D" + DISABLE_PROPERTY + "=true");
    }
    return new Availability.Available(
        EmulatedHypervisor.DESCRIPTION,
        EmulatedHypervisor.CAPABILITIES,
        EmulatedHypervisor.PRIVILEGED_EXECUTION);
  }

  @Override
  public Hypervisor open() {
    if (probe() instanceof Availability.Unavailable(String reason, var cause)) {
      throw new HypervisorException(
          NAME, "open", HypervisorException.NO_ERROR_CODE, "", reason, cause.orElse(null));
    }
    return new EmulatedHypervisor();
  }
}
