package dev.glint.hv.kvm.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Partition;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A memory image as a sealed memfd: the contents are written once through a temporary shared
 * mapping, then the file is sealed against writes, growing and shrinking, so no one (not even this
 * process by mistake) can change what clones fall back to. Each clone maps the file {@code
 * MAP_PRIVATE}: pages are shared with the page cache until written, and {@code
 * madvise(MADV_DONTNEED)} drops a clone's private copy so the page refaults from the file.
 *
 * <p>All-zero pages of the source are not written: a memfd reads as zero where nothing was written,
 * and such holes cost no memory in the image.
 *
 * <p><b>Thread safety:</b> thread-safe. {@link #close()} closes the fd; clones keep the file alive
 * through their mappings, so closing the image while clones live is safe.
 */
final class KvmMemoryImage implements MemoryImage {
  private final KvmHypervisor owner;
  private final long byteSize;
  // Guarded by "this" together with "closed": a clone's mmap must not race with close(fd).
  private final int fd;
  private final AtomicBoolean closed = new AtomicBoolean();

  private KvmMemoryImage(KvmHypervisor owner, int fd, long byteSize) {
    this.owner = owner;
    this.fd = fd;
    this.byteSize = byteSize;
  }

  static KvmMemoryImage create(KvmHypervisor owner, MemorySegment contents) {
    long size = contents.byteSize();
    int fd = Libc.memfdCreate("glint-image", Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
    if (fd < 0) {
      throw KvmErrors.failure(
          "memfd_create", -fd, "creating a %d-byte memory image".formatted(size));
    }
    boolean success = false;
    try {
      int result = Libc.ftruncate(fd, size);
      if (result < 0) {
        throw KvmErrors.failure(
            "ftruncate", -result, "sizing a memory image to %d bytes".formatted(size));
      }
      int[] errno = new int[1];
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment file =
            Libc.mapFile(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, arena, errno);
        if (file == null) {
          throw KvmErrors.failure(
              "mmap", errno[0], "mapping a %d-byte memory image to write it".formatted(size));
        }
        copyNonZeroPages(contents, file);
      } // unmapped here: F_SEAL_WRITE is refused while a writable shared mapping exists
      result =
          Libc.fcntl(
              fd,
              Libc.F_ADD_SEALS,
              Libc.F_SEAL_WRITE | Libc.F_SEAL_GROW | Libc.F_SEAL_SHRINK | Libc.F_SEAL_SEAL);
      if (result < 0) {
        throw KvmErrors.failure("fcntl(F_ADD_SEALS)", -result, "sealing a memory image");
      }
      KvmMemoryImage image = new KvmMemoryImage(owner, fd, size);
      success = true;
      return image;
    } finally {
      if (!success) {
        Libc.close(fd);
      }
    }
  }

  /** Copies the pages of {@code from} that hold a non-zero byte; the rest of {@code to} is zero. */
  private static void copyNonZeroPages(MemorySegment from, MemorySegment to) {
    long page = Partition.PAGE_SIZE;
    for (long offset = 0; offset < from.byteSize(); offset += page) {
      if (!isZero(from, offset, page)) {
        MemorySegment.copy(from, offset, to, offset, page);
      }
    }
  }

  private static final MemorySegment ZERO_PAGE = Arena.global().allocate(Partition.PAGE_SIZE);

  private static boolean isZero(MemorySegment segment, long offset, long length) {
    return MemorySegment.mismatch(segment, offset, offset + length, ZERO_PAGE, 0, length) == -1;
  }

  /** Maps a new private, copy-on-write view of the image. */
  synchronized KvmGuestMemory newClone() {
    if (closed.get()) {
      throw new ClosedResourceException("kvm memory image of " + byteSize + " bytes");
    }
    return KvmGuestMemory.cloneOf(owner, this, fd, byteSize);
  }

  KvmHypervisor owner() {
    return owner;
  }

  @Override
  public long byteSize() {
    return byteSize;
  }

  @Override
  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public synchronized void close() {
    if (closed.compareAndSet(false, true)) {
      KvmErrors.released(Libc.close(fd), "close", "memory image fd " + fd);
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "KvmMemoryImage[%d bytes%s]".formatted(byteSize, closed.get() ? ", closed" : "");
  }
}
