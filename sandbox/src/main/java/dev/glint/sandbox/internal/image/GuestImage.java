package dev.glint.sandbox.internal.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A guest image that passed every check of ABI §3: its entry point and load segments, ready to be
 * copied into guest memory. Immutable (it keeps its own copy of the file).
 *
 * @param entry e_entry, inside an executable segment
 * @param segments the PT_LOAD segments, in ascending address order, not overlapping
 * @param file the file's bytes (a private copy; not exposed)
 */
public record GuestImage(long entry, List<LoadSegment> segments, byte[] file) {

  /** Copies the segment list. */
  public GuestImage {
    segments = List.copyOf(segments);
  }

  /** {@return the page-aligned end of the highest segment} */
  public long end() {
    return segments.getLast().pageEnd();
  }

  /**
   * Copies every segment into guest memory: the file bytes, then zeros up to p_memsz.
   *
   * @param memory guest memory starting at guest-physical 0, large enough for {@link #end()}
   */
  public void copyInto(MemorySegment memory) {
    for (LoadSegment segment : segments) {
      MemorySegment.copy(
          file,
          Math.toIntExact(segment.fileOffset()),
          memory,
          ValueLayout.JAVA_BYTE,
          segment.virtualAddress(),
          Math.toIntExact(segment.fileSize()));
      memory
          .asSlice(
              segment.virtualAddress() + segment.fileSize(),
              segment.memorySize() - segment.fileSize())
          .fill((byte) 0);
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof GuestImage image
        && entry == image.entry
        && segments.equals(image.segments)
        && java.util.Arrays.equals(file, image.file);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(entry) * 31 + segments.hashCode();
  }

  @Override
  public String toString() {
    return "GuestImage[entry=0x%x, segments=%s, %d bytes]".formatted(entry, segments, file.length);
  }
}
