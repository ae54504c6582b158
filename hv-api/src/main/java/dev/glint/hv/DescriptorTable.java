package dev.glint.hv;

/**
 * The GDTR or IDTR: base and limit of a descriptor table.
 *
 * @param base linear base address
 * @param limit limit in bytes (size minus one), 0 to 0xFFFF
 */
public record DescriptorTable(long base, int limit) {
  /** Checks the limit. */
  public DescriptorTable {
    if (limit < 0 || limit > 0xFFFF) {
      throw new IllegalArgumentException(
          "descriptor table limit 0x%x must fit 16 bits".formatted(limit));
    }
  }
}
