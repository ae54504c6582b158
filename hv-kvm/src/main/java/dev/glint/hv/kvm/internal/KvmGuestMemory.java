package dev.glint.hv.kvm.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Guest RAM: {@code mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)}, so pages are zero and
 * backed only when touched; or, for a clone of a {@link KvmMemoryImage}, {@code mmap(MAP_PRIVATE |
 * MAP_NORESERVE)} of the image's memfd, so pages are the image's until written. Either way {@code
 * madvise(MADV_DONTNEED)} of a page drops its private copy: it refaults as zero (anonymous) or as
 * the image's bytes (file), which is what {@link #reset} does. The segment belongs to a shared
 * {@link Arena}; {@link #close()} closes the arena, which unmaps the memory and makes every view of
 * it inaccessible (a stale segment fails with an exception instead of touching unmapped memory).
 *
 * <p><b>Thread safety:</b> the segment is shared memory; {@code close()} is thread-safe and
 * idempotent.
 */
final class KvmGuestMemory implements GuestMemory {
  private final KvmHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final KvmMemoryImage image;
  private final AtomicBoolean closed = new AtomicBoolean();

  private KvmGuestMemory(
      KvmHypervisor owner, Arena arena, MemorySegment segment, KvmMemoryImage image) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
    this.image = image;
  }

  /**
   * Maps a private view of an image's memfd. The mapping holds its own reference to the file, so
   * the image's fd may be closed while this lives.
   */
  static KvmGuestMemory cloneOf(KvmHypervisor owner, KvmMemoryImage image, int fd, long byteSize) {
    Arena arena = Arena.ofShared();
    int[] errno = new int[1];
    MemorySegment segment;
    try {
      segment =
          Libc.mapFile(
              byteSize,
              Libc.PROT_READ | Libc.PROT_WRITE,
              Libc.MAP_PRIVATE | Libc.MAP_NORESERVE,
              fd,
              arena,
              errno);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
    if (segment == null) {
      arena.close();
      throw KvmErrors.failure(
          "mmap", errno[0], "mapping a %d-byte copy-on-write clone".formatted(byteSize));
    }
    return new KvmGuestMemory(owner, arena, segment, image);
  }

  static KvmGuestMemory allocate(KvmHypervisor owner, long byteSize) {
    long address =
        Libc.mmap(
            byteSize,
            Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE,
            -1);
    if (address < 0) {
      throw KvmErrors.failure(
          "mmap", (int) -address, "allocating %d bytes of guest memory".formatted(byteSize));
    }
    Arena arena = Arena.ofShared();
    MemorySegment segment;
    try {
      // From here on, closing the arena unmaps the memory.
      segment = Libc.mappedView(address, byteSize, arena);
    } catch (RuntimeException | Error e) {
      arena.close();
      Libc.munmap(address, byteSize);
      throw e;
    }
    return new KvmGuestMemory(owner, arena, segment, null);
  }

  @Override
  public MemorySegment segment() {
    if (closed.get()) {
      throw new ClosedResourceException("kvm guest memory of " + segment.byteSize() + " bytes");
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
    // One madvise per run of consecutive pages: the dirty log of a call is usually a few runs.
    for (int first = pages.nextSetBit(0); first >= 0; ) {
      int end = pages.nextClearBit(first);
      drop(memory, first * Partition.PAGE_SIZE, (end - first) * Partition.PAGE_SIZE);
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
      drop(memory, offset, length);
    }
  }

  private void drop(MemorySegment memory, long offset, long length) {
    int result = Libc.madvise(memory.address() + offset, length, Libc.MADV_DONTNEED);
    if (result < 0) {
      throw KvmErrors.failure(
          "madvise(MADV_DONTNEED)",
          -result,
          "resetting [0x%x, +0x%x) of %s".formatted(offset, length, this));
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "KvmGuestMemory[0x%x, %d bytes%s%s]"
        .formatted(
            segment.address(),
            segment.byteSize(),
            image != null ? ", copy-on-write clone" : "",
            closed.get() ? ", closed" : "");
  }
}
