package dev.glint.hv;

import java.util.Set;

/**
 * One guest-physical range mapped onto host memory by {@link Partition#map}.
 *
 * @param guestAddress first guest-physical address (GPA), page-aligned
 * @param size length in bytes, a positive multiple of {@link Partition#PAGE_SIZE}
 * @param flags access rights and options
 */
public record MemoryMapping(long guestAddress, long size, Set<MemoryFlag> flags) {
  /** Checks alignment and copies the flags. */
  public MemoryMapping {
    if (guestAddress < 0 || (guestAddress & (Partition.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "guest address 0x%x must be non-negative and a multiple of %d"
              .formatted(guestAddress, Partition.PAGE_SIZE));
    }
    if (size <= 0 || (size & (Partition.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "mapping size %d must be a positive multiple of %d".formatted(size, Partition.PAGE_SIZE));
    }
    flags = Set.copyOf(flags);
  }

  /** {@return the first guest-physical address after the mapping} */
  public long endAddress() {
    return guestAddress + size;
  }

  /** {@return the number of pages in the mapping} */
  public long pageCount() {
    return size / Partition.PAGE_SIZE;
  }

  /** {@return whether {@code gpa} lies inside the mapping} */
  public boolean contains(long gpa) {
    return gpa >= guestAddress && gpa < endAddress();
  }

  /** {@return whether this mapping shares at least one byte with {@code other}} */
  public boolean overlaps(MemoryMapping other) {
    return guestAddress < other.endAddress() && other.guestAddress < endAddress();
  }
}
