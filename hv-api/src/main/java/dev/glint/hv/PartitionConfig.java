package dev.glint.hv;

import java.util.Objects;

/**
 * How to create a {@link Partition}: an immutable value.
 *
 * @param label a name for logs and error messages, such as the guest's name
 */
public record PartitionConfig(String label) {
  /** Requires a label. */
  public PartitionConfig {
    Objects.requireNonNull(label, "label");
  }

  /** {@return the default configuration, labelled "partition"} */
  public static PartitionConfig defaults() {
    return new PartitionConfig("partition");
  }
}
