package dev.glint.hv;

import java.util.Objects;

/**
 * How to create a {@link Partition}: an immutable value.
 *
 * @param label a name for logs and error messages, such as the guest's name
 * @param userModeOnly a promise that the guest's own code runs only at CPL 3, and privileged code
 *     only in short handlers the host wrote (such as fault stubs that report and stop). A backend
 *     may then use mechanisms that long-running privileged guest code could abuse: KVM on a PVM
 *     host uses its dirty ring, which PVM's emulation of CPL-0 code can overflow
 *     (docs/kvm-backend.md). The promise is about the host's setup, not enforced on the guest.
 */
public record PartitionConfig(String label, boolean userModeOnly) {
  /** Requires a label. */
  public PartitionConfig {
    Objects.requireNonNull(label, "label");
  }

  /**
   * A configuration without the user-mode promise.
   *
   * @param label a name for logs and error messages
   */
  public PartitionConfig(String label) {
    this(label, false);
  }

  /** {@return the default configuration, labelled "partition"} */
  public static PartitionConfig defaults() {
    return new PartitionConfig("partition");
  }
}
