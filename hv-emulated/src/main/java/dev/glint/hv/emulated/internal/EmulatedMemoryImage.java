package dev.glint.hv.emulated.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.MemoryImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An image: a plain copy of the source bytes, in memory the garbage collector frees once neither
 * the image nor any clone needs it (so clones keep resetting to it after the image is closed).
 * Thread-safe.
 */
final class EmulatedMemoryImage implements MemoryImage {
  private final EmulatedHypervisor owner;
  private final MemorySegment bytes;
  private final AtomicBoolean closed = new AtomicBoolean();

  EmulatedMemoryImage(EmulatedHypervisor owner, MemorySegment contents) {
    this.owner = owner;
    this.bytes = Arena.ofAuto().allocate(contents.byteSize(), 4096);
    MemorySegment.copy(contents, 0, bytes, 0, contents.byteSize());
  }

  /** {@return the image's bytes; never written} */
  MemorySegment bytes() {
    return bytes;
  }

  void ensureOpen() {
    if (closed.get()) {
      throw new ClosedResourceException("emulated memory image");
    }
  }

  @Override
  public long byteSize() {
    return bytes.byteSize();
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
}
