package dev.glint.cli;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;

/** A backend that is never available, so that the tests see how one is reported. */
public final class UnavailableTestProvider implements HypervisorProvider {
  static final String NAME = "fake-unavailable";
  static final String REASON = "a fake backend of the command line's tests; it never opens";

  /** Creates the provider; ServiceLoader calls it. */
  public UnavailableTestProvider() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int priority() {
    return -10;
  }

  @Override
  public Availability probe() {
    return Availability.Unavailable.because(REASON);
  }

  @Override
  public Hypervisor open() {
    throw new HypervisorException(
        NAME, "open", HypervisorException.NO_ERROR_CODE, "", REASON, null);
  }
}
