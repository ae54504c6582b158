package dev.glint.hv.mshv.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.mshv.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Guest memory as a private anonymous mapping ({@code mmap}, {@code MAP_NORESERVE}), unmapped when
 * closed.
 *
 * <p><b>Why resets copy.</b> {@code MSHV_SET_GUEST_MEMORY} pins the pages of a mapping for the
 * hypervisor, so the KVM backend's trick of dropping pages with {@code madvise(MADV_DONTNEED)} to
 * refault them from an image would leave the hypervisor with the old, pinned pages while the
 * process sees new ones. Here every reset writes the original bytes (the image's, or zeros) in
 * place, and a clone is a full copy: the backend does not claim {@link
 * dev.glint.hv.Capability#COPY_ON_WRITE_IMAGES}.
 *
 * <p><b>Thread safety:</b> the segment is shared memory; {@code close()} is thread-safe and
 * idempotent.
 */
final class MshvGuestMemory implements GuestMemory {
  private final MshvHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final MshvMemoryImage image;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MshvGuestMemory(
      MshvHypervisor owner, Arena arena, MemorySegment segment, MshvMemoryImage image) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
    this.image = image;
  }

  /** Maps {@code byteSize} zeroed bytes. */
  static MshvGuestMemory allocate(MshvHypervisor owner, long byteSize, MshvMemoryImage image) {
    Arena arena = Arena.ofShared();
    MemorySegment segment;
    try {
      segment = map(byteSize, arena);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
    MshvGuestMemory memory = new MshvGuestMemory(owner, arena, segment, image);
    if (image != null) {
      image.copyInto(segment, 0, byteSize);
    }
    return memory;
  }

  /** Maps anonymous memory that lives as long as {@code arena}. */
  static MemorySegment map(long byteSize, Arena arena) {
    long address =
        Libc.mmap(
            byteSize,
            Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE,
            -1);
    if (address < 0) {
      throw MshvErrors.failure("mmap", (int) -address, "allocating %d bytes".formatted(byteSize));
    }
    try {
      return Libc.mappedView(address, byteSize, arena);
    } catch (RuntimeException | Error e) {
      Libc.munmap(address, byteSize);
      throw e;
    }
  }

  @Override
  public MemorySegment segment() {
    if (closed.get()) {
      throw new ClosedResourceException("mshv guest memory of " + segment.byteSize() + " bytes");
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
      image.restoreInto(memory, offset, length);
    } else {
      long page = Partition.PAGE_SIZE;
      for (long at = offset; at < offset + length; at += page) {
        // Only pages that are not zero already: a comparison reads, a fill writes every page.
        if (MemorySegment.mismatch(memory, at, at + page, ZERO_PAGE, 0, page) != -1) {
          memory.asSlice(at, page).fill((byte) 0);
        }
      }
    }
  }

  private static final MemorySegment ZERO_PAGE = Arena.global().allocate(Partition.PAGE_SIZE);

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "MshvGuestMemory[0x%x, %d bytes%s%s]"
        .formatted(
            segment.address(),
            segment.byteSize(),
            image != null ? ", clone of an image" : "",
            closed.get() ? ", closed" : "");
  }
}
