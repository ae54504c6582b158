package dev.glint.hv.emulated.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Guest memory: a native segment from a shared arena, zeroed, or a full copy of an image (the
 * emulated backend has no copy-on-write). {@link #reset} copies the image's pages back, or zeroes
 * them. Thread-safe as the SPI describes.
 */
final class EmulatedGuestMemory implements GuestMemory {
  private final EmulatedHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final EmulatedMemoryImage image;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmulatedGuestMemory(
      EmulatedHypervisor owner, Arena arena, MemorySegment segment, EmulatedMemoryImage image) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
    this.image = image;
  }

  static EmulatedGuestMemory allocate(
      EmulatedHypervisor owner, long byteSize, EmulatedMemoryImage image) {
    if (image != null) {
      image.ensureOpen();
    }
    Arena arena = Arena.ofShared();
    boolean success = false;
    try {
      MemorySegment segment = arena.allocate(byteSize, Partition.PAGE_SIZE);
      if (image != null) {
        MemorySegment.copy(image.bytes(), 0, segment, 0, byteSize);
      }
      success = true;
      return new EmulatedGuestMemory(owner, arena, segment, image);
    } finally {
      if (!success) {
        arena.close();
      }
    }
  }

  @Override
  public MemorySegment segment() {
    if (closed.get()) {
      throw new ClosedResourceException("emulated guest memory");
    }
    return segment;
  }

  @Override
  public long byteSize() {
    return segment.byteSize();
  }

  @Override
  public Optional<MemoryImage> image() {
    return Optional.ofNullable(image);
  }

  @Override
  public void reset(BitSet pages) {
    Objects.requireNonNull(pages, "pages");
    segment();
    long count = byteSize() / Partition.PAGE_SIZE;
    if (pages.length() > count) {
      throw new IllegalArgumentException(
          "page %d is beyond the last page (%d) of this %d-byte memory"
              .formatted(pages.length() - 1, count - 1, byteSize()));
    }
    for (int page = pages.nextSetBit(0); page >= 0; page = pages.nextSetBit(page + 1)) {
      resetRange(page * Partition.PAGE_SIZE, Partition.PAGE_SIZE);
    }
  }

  @Override
  public void reset(long offset, long length) {
    segment();
    if (offset < 0
        || length < 0
        || offset % Partition.PAGE_SIZE != 0
        || length % Partition.PAGE_SIZE != 0
        || offset > byteSize() - length) {
      throw new IllegalArgumentException(
          "range at %d of %d bytes must be page-aligned and inside this %d-byte memory"
              .formatted(offset, length, byteSize()));
    }
    resetRange(offset, length);
  }

  private void resetRange(long offset, long length) {
    if (image == null) {
      segment.asSlice(offset, length).fill((byte) 0);
    } else {
      MemorySegment.copy(image.bytes(), offset, segment, offset, length);
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      owner.release(this);
      arena.close();
    }
  }
}
