package dev.glint.hv.mshv.internal;

import dev.glint.hv.Capability;
import java.util.Optional;
import java.util.Set;

/**
 * What the probe learnt about this host's {@code /dev/mshv}, shared by every {@link
 * MshvHypervisor}: fixed for the life of the process.
 *
 * @param description for {@link dev.glint.hv.Hypervisor#description()}
 * @param device the device path opened
 * @param capabilities the capabilities provided
 * @param privilegedExecution how CPL-0 guest code runs
 * @param signal the real-time signal that kicks VPs, or 0 when cancellation is unavailable
 * @param cancelUnavailableReason why {@link Capability#CANCEL} is missing, if it is
 */
record MshvHost(
    String description,
    String device,
    Set<Capability> capabilities,
    dev.glint.hv.PrivilegedExecution privilegedExecution,
    int signal,
    Optional<String> cancelUnavailableReason) {

  /**
   * The guest-physical address limit Glint uses: 2^46, which every x86-64 processor the Microsoft
   * Hypervisor runs root partitions on can address; mshv has no uapi call that reports the width.
   */
  static final int PHYSICAL_ADDRESS_BITS = 46;

  MshvHost {
    capabilities = Set.copyOf(capabilities);
  }

  /** {@return the first guest-physical address beyond what Glint maps} */
  long guestAddressLimit() {
    return 1L << PHYSICAL_ADDRESS_BITS;
  }
}
