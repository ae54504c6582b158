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
 * the image's bytes (file), which is what {@link #reset} does for many pages. A few pages are
 * copied back instead (from a read-only shared view of the image, or zeroed): {@code madvise} costs
 * about 2 µs per run of pages on a PVM host, since KVM must also drop its mappings of them, and the
 * guest then takes a fault on each page it touches again; a 4 KiB copy costs a fraction of that and
 * leaves the guest's mappings alone. The segment belongs to a shared {@link Arena}; {@link
 * #close()} closes the arena, which unmaps the memory and makes every view of it inaccessible (a
 * stale segment fails with an exception instead of touching unmapped memory).
 *
 * <p><b>Thread safety:</b> the segment is shared memory; {@code close()} is thread-safe and
 * idempotent.
 */
final class KvmGuestMemory implements GuestMemory {
  private final KvmHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final KvmMemoryImage image;

  /** A clone's read-only view of the image's bytes (null for plain memory: reset to zero). */
  private final MemorySegment imageView;

  private final AtomicBoolean closed = new AtomicBoolean();

  /** At most this many pages are reset by copying; more are dropped with {@code madvise}. */
  static final int COPY_RESET_LIMIT = 32;

  private KvmGuestMemory(
      KvmHypervisor owner,
      Arena arena,
      MemorySegment segment,
      KvmMemoryImage image,
      MemorySegment imageView) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
    this.image = image;
    this.imageView = imageView;
  }

  /**
   * Maps a private view of an image's memfd. The mapping holds its own reference to the file, so
   * the image's fd may be closed while this lives.
   */
  static KvmGuestMemory cloneOf(KvmHypervisor owner, KvmMemoryImage image, int fd, long byteSize) {
    Arena arena = Arena.ofShared();
    int[] errno = new int[1];
    MemorySegment segment;
    MemorySegment view;
    try {
      segment =
          Libc.mapFile(
              byteSize,
              Libc.PROT_READ | Libc.PROT_WRITE,
              Libc.MAP_PRIVATE | Libc.MAP_NORESERVE,
              fd,
              arena,
              errno);
      if (segment == null) {
        throw KvmErrors.failure(
            "mmap", errno[0], "mapping a %d-byte copy-on-write clone".formatted(byteSize));
      }
      // The image's own pages, shared and read-only: the source of small resets.
      view = Libc.mapFile(byteSize, Libc.PROT_READ, Libc.MAP_SHARED, fd, arena, errno);
      if (view == null) {
        throw KvmErrors.failure(
            "mmap", errno[0], "mapping a %d-byte read-only view of an image".formatted(byteSize));
      }
    } catch (RuntimeException | Error e) {
      arena.close(); // unmaps whatever was mapped
      throw e;
    }
    return new KvmGuestMemory(owner, arena, segment, image, view);
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
    return new KvmGuestMemory(owner, arena, segment, null, null);
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
    // One pass over the set (no cardinality(): the set spans the memory, the pages are few).
    int[] few = new int[COPY_RESET_LIMIT];
    int count = 0;
    for (int page = pages.nextSetBit(0); page >= 0; page = pages.nextSetBit(page + 1)) {
      if (count == COPY_RESET_LIMIT) {
        count = -1;
        break;
      }
      few[count++] = page;
    }
    if (count >= 0) {
      for (int i = 0; i < count; i++) {
        rewrite(memory, few[i] * Partition.PAGE_SIZE, Partition.PAGE_SIZE);
      }
      return;
    }
    // One madvise per run of consecutive pages.
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
    if (length > 0 && length <= COPY_RESET_LIMIT * Partition.PAGE_SIZE) {
      rewrite(memory, offset, length);
    } else if (length > 0) {
      drop(memory, offset, length);
    }
  }

  /** Writes the original bytes over a range: the image's, or zeros. */
  private void rewrite(MemorySegment memory, long offset, long length) {
    if (imageView != null) {
      MemorySegment.copy(imageView, offset, memory, offset, length);
    } else {
      memory.asSlice(offset, length).fill((byte) 0);
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
