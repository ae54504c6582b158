package dev.glint.hv;

import java.lang.foreign.MemorySegment;

/**
 * Page-aligned host memory for guest RAM, allocated by {@link Hypervisor#allocateMemory}. Pages are
 * zero and backed lazily: untouched pages cost no resident memory.
 *
 * <p><b>Lifetime:</b> owned by whoever allocated it; closing the {@link Hypervisor} closes it too.
 * It must outlive every mapping of it: unmap (or close the partition) first. Close is idempotent;
 * after it, {@link #segment()} throws {@link ClosedResourceException}.
 *
 * <p><b>Thread safety:</b> the segment may be read and written from any thread (it is shared
 * memory, also written by the guest); {@code close()} must not race with its use.
 */
public interface GuestMemory extends AutoCloseable {

  /**
   * {@return the memory, a native segment whose address and size are page-aligned}
   *
   * @throws ClosedResourceException if the memory is closed
   */
  MemorySegment segment();

  /** {@return the size in bytes, a multiple of {@link Partition#PAGE_SIZE}} */
  long byteSize();

  /** Returns the memory to the operating system. Idempotent. */
  @Override
  void close();
}
