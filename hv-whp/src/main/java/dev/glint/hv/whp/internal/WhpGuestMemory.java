package dev.glint.hv.whp.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.whp.internal.sys.HostMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Guest RAM from {@link HostMemory} ({@code VirtualAlloc} on Windows, anonymous {@code mmap} under
 * the test double): zeroed, committed lazily. A clone of a {@link WhpMemoryImage} is a full copy of
 * the image's bytes: the backend does not offer {@link
 * dev.glint.hv.Capability#COPY_ON_WRITE_IMAGES} (on Windows it would take section views of a
 * pagefile-backed section, which this backend does not implement), so {@link #reset} copies the
 * image's bytes back, or zeroes plain memory. The segment belongs to a shared {@link Arena}; {@link
 * #close()} closes it, which frees the memory and makes every view of it inaccessible.
 *
 * <p><b>Thread safety:</b> the segment is shared memory; {@code close()} is thread-safe and
 * idempotent.
 */
final class WhpGuestMemory implements GuestMemory {
  private final WhpHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final WhpMemoryImage image;
  private final AtomicBoolean closed = new AtomicBoolean();

  private WhpGuestMemory(
      WhpHypervisor owner, Arena arena, MemorySegment segment, WhpMemoryImage image) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
    this.image = image;
  }

  /** Allocates zeroed memory; with an image, copies the image's bytes in. */
  static WhpGuestMemory allocate(WhpHypervisor owner, long byteSize, WhpMemoryImage image) {
    MemorySegment raw = HostMemory.allocate(byteSize);
    if (raw == null) {
      throw WhpErrors.fault(
          "VirtualAlloc",
          "the operating system refused %d bytes of guest memory".formatted(byteSize));
    }
    Arena arena = Arena.ofShared();
    MemorySegment segment;
    try {
      segment = HostMemory.owned(raw, arena); // closing the arena frees the memory
    } catch (RuntimeException | Error e) {
      arena.close();
      HostMemory.free(raw);
      throw e;
    }
    if (image != null) {
      image.copyInto(segment, 0, byteSize);
    }
    return new WhpGuestMemory(owner, arena, segment, image);
  }

  @Override
  public MemorySegment segment() {
    if (closed.get()) {
      throw new ClosedResourceException("whp guest memory of " + segment.byteSize() + " bytes");
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
    MemorySegment memory = segment();
    long pageCount = memory.byteSize() / Partition.PAGE_SIZE;
    if (pages.length() > pageCount) {
      throw new IllegalArgumentException(
          "page %d is beyond the last page (%d) of %s"
              .formatted(pages.length() - 1, pageCount - 1, this));
    }
    for (int first = pages.nextSetBit(0); first >= 0; ) {
      int end = pages.nextClearBit(first);
      rewrite(memory, first * Partition.PAGE_SIZE, (end - first) * Partition.PAGE_SIZE);
      first = end < pageCount ? pages.nextSetBit(end) : -1;
    }
  }

  @Override
  public void reset(long offset, long length) {
    MemorySegment memory = segment();
    if (offset < 0
        || length < 0
        || offset % Partition.PAGE_SIZE != 0
        || length % Partition.PAGE_SIZE != 0
        || offset > memory.byteSize() - length) {
      throw new IllegalArgumentException(
          "reset range [0x%x, +0x%x) must be page-aligned and inside the %d bytes of %s"
              .formatted(offset, length, memory.byteSize(), this));
    }
    if (length > 0) {
      rewrite(memory, offset, length);
    }
  }

  private void rewrite(MemorySegment memory, long offset, long length) {
    if (image != null) {
      image.copyInto(memory, offset, length);
    } else {
      memory.asSlice(offset, length).fill((byte) 0);
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
      if (image != null) {
        image.release(); // the image's bytes may go once no clone needs them for reset
      }
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "WhpGuestMemory[0x%x, %d bytes%s%s]"
        .formatted(
            segment.address(),
            segment.byteSize(),
            image != null ? ", copy of an image" : "",
            closed.get() ? ", closed" : "");
  }
}
