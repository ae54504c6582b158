package dev.glint.hv.kvm.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.kvm.internal.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Guest RAM: {@code mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)}, so pages are zero and
 * backed only when touched. The segment belongs to a shared {@link Arena}; {@link #close()} closes
 * the arena, which unmaps the memory and makes every view of it inaccessible (a stale segment fails
 * with an exception instead of touching unmapped memory).
 *
 * <p><b>Thread safety:</b> the segment is shared memory; {@code close()} is thread-safe and
 * idempotent.
 */
final class KvmGuestMemory implements GuestMemory {
  private final KvmHypervisor owner;
  private final Arena arena;
  private final MemorySegment segment;
  private final AtomicBoolean closed = new AtomicBoolean();

  private KvmGuestMemory(KvmHypervisor owner, Arena arena, MemorySegment segment) {
    this.owner = owner;
    this.arena = arena;
    this.segment = segment;
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
    return new KvmGuestMemory(owner, arena, segment);
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
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
      owner.release(this);
    }
  }

  @Override
  public String toString() {
    return "KvmGuestMemory[0x%x, %d bytes%s]"
        .formatted(segment.address(), segment.byteSize(), closed.get() ? ", closed" : "");
  }
}
