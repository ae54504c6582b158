package dev.glint.hv.mshv.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.mshv.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A memory image as a private copy in anonymous memory, made read-only after it is written ({@code
 * mprotect}), so nothing in this process can change what clones and resets return to. Clones copy
 * it in full (see {@link MshvGuestMemory} for why the copy-on-write clones of the KVM backend would
 * be wrong under mshv's pinned mappings).
 *
 * <p>The copy is kept alive by every clone that resets from it, so closing the image while clones
 * live is safe: close only refuses new clones, and the memory goes when the last user goes
 * (automatic arena).
 *
 * <p><b>Thread safety:</b> thread-safe.
 */
final class MshvMemoryImage implements MemoryImage {
  private final MshvHypervisor owner;
  private final MemorySegment contents;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MshvMemoryImage(MshvHypervisor owner, MemorySegment contents) {
    this.owner = owner;
    this.contents = contents;
  }

  static MshvMemoryImage create(MshvHypervisor owner, MemorySegment source) {
    long size = source.byteSize();
    MemorySegment copy = MshvGuestMemory.map(size, Arena.ofAuto());
    MemorySegment.copy(source, 0, copy, 0, size);
    int result = Libc.mprotect(copy.address(), size, Libc.PROT_READ);
    if (result < 0) {
      throw MshvErrors.failure(
          "mprotect", -result, "making a %d-byte memory image read-only".formatted(size));
    }
    return new MshvMemoryImage(owner, copy.asReadOnly());
  }

  /**
   * Copies {@code length} bytes at {@code offset} of the image into the same range of {@code to}.
   */
  void copyInto(MemorySegment to, long offset, long length) {
    MemorySegment.copy(contents, offset, to, offset, length);
  }

  /**
   * Makes {@code length} bytes at {@code offset} of {@code to} equal to the image's, writing only
   * the pages that differ: without dirty-page tracking a restore covers all of memory, and a
   * read-only comparison of the mostly unchanged pages costs less than rewriting them.
   */
  void restoreInto(MemorySegment to, long offset, long length) {
    long page = dev.glint.hv.Partition.PAGE_SIZE;
    for (long at = offset; at < offset + length; at += page) {
      if (MemorySegment.mismatch(contents, at, at + page, to, at, at + page) != -1) {
        MemorySegment.copy(contents, at, to, at, page);
      }
    }
  }

  /** Allocates a clone: new memory holding a copy of the image. */
  MshvGuestMemory newClone(MshvHypervisor hypervisor) {
    if (closed.get()) {
      throw new ClosedResourceException("mshv memory image of " + byteSize() + " bytes");
    }
    return MshvGuestMemory.allocate(hypervisor, byteSize(), this);
  }

  @Override
  public long byteSize() {
    return contents.byteSize();
  }

  @Override
  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "MshvMemoryImage[%d bytes%s]".formatted(byteSize(), closed.get() ? ", closed" : "");
  }
}
