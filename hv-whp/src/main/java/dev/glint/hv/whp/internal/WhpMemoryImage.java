package dev.glint.hv.whp.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.whp.internal.sys.HostMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory image as a private copy of the source bytes, the full-copy fallback of {@link
 * MemoryImage}: a clone copies it, a reset copies pages back from it. The copy lives as long as the
 * image or any clone of it: clones hold a reference, so closing the image while clones live is safe
 * and their {@code reset} still works; the memory is freed when the last of them closes.
 *
 * <p><b>Thread safety:</b> thread-safe; the bytes never change after creation.
 */
final class WhpMemoryImage implements MemoryImage {
  private final WhpHypervisor owner;
  private final Arena arena;
  private final MemorySegment bytes;

  /** The image itself (1 while open) plus one per live clone; the copy is freed at 0. */
  private final AtomicInteger references = new AtomicInteger(1);

  private volatile boolean closed;

  private WhpMemoryImage(WhpHypervisor owner, Arena arena, MemorySegment bytes) {
    this.owner = owner;
    this.arena = arena;
    this.bytes = bytes;
  }

  static WhpMemoryImage create(WhpHypervisor owner, MemorySegment contents) {
    long size = contents.byteSize();
    MemorySegment raw = HostMemory.allocate(size);
    if (raw == null) {
      throw WhpErrors.fault(
          "VirtualAlloc", "the operating system refused %d bytes for an image".formatted(size));
    }
    Arena arena = Arena.ofShared();
    MemorySegment copy = HostMemory.owned(raw, arena);
    MemorySegment.copy(contents, 0, copy, 0, size);
    return new WhpMemoryImage(owner, arena, copy);
  }

  /** Makes a clone for {@code hypervisor}, which may be another open WHP hypervisor. */
  WhpGuestMemory newClone(WhpHypervisor hypervisor) {
    retain();
    boolean success = false;
    try {
      WhpGuestMemory clone = WhpGuestMemory.allocate(hypervisor, bytes.byteSize(), this);
      success = true;
      return clone;
    } finally {
      if (!success) {
        release();
      }
    }
  }

  private void retain() {
    references.getAndUpdate(
        count -> {
          if (count == 0 || closed) {
            throw new ClosedResourceException("whp memory image of " + bytes.byteSize() + " bytes");
          }
          return count + 1;
        });
  }

  /** Called by a clone that closed. */
  void release() {
    if (references.decrementAndGet() == 0) {
      arena.close();
    }
  }

  /** Copies the image's bytes {@code [offset, offset + length)} into {@code target} there. */
  void copyInto(MemorySegment target, long offset, long length) {
    MemorySegment.copy(bytes, offset, target, offset, length);
  }

  @Override
  public long byteSize() {
    return bytes.byteSize();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      release();
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "WhpMemoryImage[%d bytes%s]".formatted(bytes.byteSize(), closed ? ", closed" : "");
  }
}
