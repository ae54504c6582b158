package dev.glint.hv;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/** The access rights and options of one {@link MemoryMapping}. */
public enum MemoryFlag {
  /** The guest may read. Every mapping must have it. */
  READ,
  /** The guest may write; without it, writes need {@link Capability#READ_ONLY_MEMORY}. */
  WRITE,
  /**
   * The guest may execute; without it, needs {@link Capability#EXECUTE_PROTECTION} (a backend
   * without that capability refuses non-executable mappings rather than silently ignoring the
   * flag).
   */
  EXECUTE,
  /** Pages the guest writes are recorded; needs {@link Capability#DIRTY_PAGE_TRACKING}. */
  TRACK_DIRTY;

  /** Read, write and execute: ordinary guest RAM. */
  public static final Set<MemoryFlag> READ_WRITE_EXECUTE =
      Collections.unmodifiableSet(EnumSet.of(READ, WRITE, EXECUTE));

  /** Read and execute only: guest ROM, for example a code image the guest must not change. */
  public static final Set<MemoryFlag> READ_EXECUTE =
      Collections.unmodifiableSet(EnumSet.of(READ, EXECUTE));
}
