package dev.glint.hv;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a backend can be used here, as answered by {@link
 * dev.glint.hv.spi.HypervisorProvider#probe()}.
 */
public sealed interface Availability {

  /** {@return whether the backend can be opened} */
  boolean isAvailable();

  /**
   * The backend opened and answered.
   *
   * @param description what was found, such as "KVM API 12 on kvm_pvm"
   * @param capabilities what it provides
   * @param privilegedExecution how it runs CPL-0 guest code
   */
  record Available(
      String description, Set<Capability> capabilities, PrivilegedExecution privilegedExecution)
      implements Availability {
    /** Copies the capabilities. */
    public Available {
      Objects.requireNonNull(description, "description");
      capabilities = Set.copyOf(capabilities);
      Objects.requireNonNull(privilegedExecution, "privilegedExecution");
    }

    @Override
    public boolean isAvailable() {
      return true;
    }
  }

  /**
   * The backend cannot be used, and why.
   *
   * @param reason what is wrong and how to fix it, for a person to read
   * @param cause the failure behind it, if any
   */
  record Unavailable(String reason, Optional<Throwable> cause) implements Availability {
    /** Requires a reason. */
    public Unavailable {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(cause, "cause");
    }

    /** {@return an unavailability with a reason and no cause} */
    public static Unavailable because(String reason) {
      return new Unavailable(reason, Optional.empty());
    }

    @Override
    public boolean isAvailable() {
      return false;
    }
  }
}
