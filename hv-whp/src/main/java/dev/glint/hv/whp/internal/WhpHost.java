package dev.glint.hv.whp.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import java.util.Set;

/**
 * What the probe learnt about this host's Windows Hypervisor Platform, fixed for the life of the
 * process.
 *
 * @param platform the loaded library
 * @param description for {@link dev.glint.hv.Hypervisor#description()}
 * @param capabilities the capabilities provided
 * @param privilegedExecution how CPL-0 guest code runs
 */
record WhpHost(
    WinHvPlatform platform,
    String description,
    Set<Capability> capabilities,
    PrivilegedExecution privilegedExecution) {

  WhpHost {
    capabilities = Set.copyOf(capabilities);
  }

  /** The guest-physical address width the backend assumes: x86-64's architectural minimum. */
  static final int PHYSICAL_ADDRESS_BITS = 36;

  /** {@return the first guest-physical address beyond what the guest can address} */
  long guestAddressLimit() {
    return 1L << PHYSICAL_ADDRESS_BITS;
  }
}
