package dev.glint.hv;

import java.util.Objects;

/** A method needs a {@link Capability} that the hypervisor does not provide. */
public class MissingCapabilityException extends UnsupportedOperationException {
  private static final long serialVersionUID = 1L;

  private final transient Capability capability;

  /**
   * Creates an exception.
   *
   * @param backend the backend's name
   * @param capability the missing capability
   * @param what the operation that needs it
   */
  public MissingCapabilityException(String backend, Capability capability, String what) {
    super(
        "%s needs capability %s, which backend '%s' does not provide"
            .formatted(what, capability, backend));
    this.capability = Objects.requireNonNull(capability, "capability");
  }

  /** {@return the capability that is missing} */
  public Capability capability() {
    return capability;
  }
}
