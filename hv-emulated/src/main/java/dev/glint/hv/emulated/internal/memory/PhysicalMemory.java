package dev.glint.hv.emulated.internal.memory;

import dev.glint.hv.MemoryMapping;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;

/**
 * The guest-physical address space of a partition: the regions mapped onto host memory, found by
 * address. An address no region backs is memory-mapped I/O. Every change bumps {@link
 * #generation()}, so a vCPU knows to drop its translations and decoded code.
 *
 * <p>Changes are serialized with the vCPU's runs by the SPI's contract (mapping must not overlap a
 * run), so no locking is needed on the lookup path.
 */
public final class PhysicalMemory {
  private Region[] regions = new Region[0];
  private long[] starts = new long[0];
  private volatile long generation;

  /** {@return a counter that changes whenever a region is added or removed} */
  public long generation() {
    return generation;
  }

  /** Adds a region for {@code mapping} backed by {@code host}; the caller checked for overlaps. */
  public void add(MemoryMapping mapping, MemorySegment host) {
    List<Region> list = new ArrayList<>(List.of(regions));
    list.add(new Region(mapping, host));
    publish(list);
  }

  /** Removes the region of {@code mapping}; returns whether there was one. */
  public boolean remove(MemoryMapping mapping) {
    List<Region> list = new ArrayList<>(List.of(regions));
    boolean removed = list.removeIf(r -> r.mapping == mapping);
    publish(list);
    return removed;
  }

  private void publish(List<Region> list) {
    list.sort(Comparator.comparingLong(r -> r.start));
    Region[] sorted = list.toArray(Region[]::new);
    long[] keys = new long[sorted.length];
    for (int i = 0; i < sorted.length; i++) {
      keys[i] = sorted[i].start;
    }
    regions = sorted;
    starts = keys;
    generation++;
  }

  /** {@return the region of {@code mapping}, or null if it is not mapped here} */
  public Region regionOf(MemoryMapping mapping) {
    for (Region r : regions) {
      if (r.mapping == mapping) {
        return r;
      }
    }
    return null;
  }

  /** {@return the regions in ascending address order} */
  public List<MemoryMapping> mappings() {
    return java.util.Arrays.stream(regions).map(Region::mapping).toList();
  }

  /** {@return the region holding {@code gpa}, or null if none backs it (MMIO)} */
  public Region find(long gpa) {
    long[] keys = starts;
    int low = 0;
    int high = keys.length - 1;
    while (low <= high) {
      int mid = (low + high) >>> 1;
      if (Long.compareUnsigned(keys[mid], gpa) <= 0) {
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (high < 0) {
      return null;
    }
    Region r = regions[high];
    return Long.compareUnsigned(gpa, r.end) < 0 ? r : null;
  }

  /** {@return the pages of {@code mapping} written since the last call} */
  public BitSet dirtyPages(MemoryMapping mapping) {
    Region r = regionOf(mapping);
    return r == null ? new BitSet() : r.takeDirty();
  }

  /** Orders regions for tests and messages. */
  @Override
  public String toString() {
    return "PhysicalMemory" + mappings();
  }
}
