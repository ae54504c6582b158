package dev.glint.hv;

import java.lang.foreign.MemorySegment;

/**
 * Page-aligned host memory for guest RAM, allocated by {@link Hypervisor#allocateMemory}. Pages are
 * zero and backed lazily: untouched pages cost no resident memory. Memory made from a {@link
 * MemoryImage} (a <em>clone</em>) starts with the image's bytes instead; see {@link #image()}.
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

  /**
   * {@return the image this memory is a clone of, empty for plain memory} The image may have been
   * closed since; {@link #reset} still works.
   */
  java.util.Optional<MemoryImage> image();

  /**
   * Returns the listed pages to their original contents: the image's bytes for a clone, zero for
   * plain memory. The guest sees the original bytes on its next run; a mapping of the memory need
   * not be removed first, but no vCPU that maps it may be running. With {@link
   * Capability#COPY_ON_WRITE_IMAGES} the cost is in proportion to the number of pages reset (not to
   * the memory's size), and the pages stop costing resident memory until touched again.
   *
   * @param pages bit {@code i} stands for the page at byte offset {@code i * PAGE_SIZE}; may be the
   *     result of {@link Partition#dirtyPages} for a mapping of the whole memory
   * @throws IllegalArgumentException if a set bit lies beyond the memory's last page
   * @throws ClosedResourceException if the memory is closed
   * @throws HypervisorException if the operating system refuses
   */
  void reset(java.util.BitSet pages);

  /**
   * Returns a page-aligned range to its original contents, as {@link #reset(java.util.BitSet)}.
   *
   * @param offset the first byte, a multiple of {@link Partition#PAGE_SIZE}
   * @param length the number of bytes, a multiple of {@link Partition#PAGE_SIZE}
   * @throws IllegalArgumentException if the range is misaligned, negative, or not inside the memory
   * @throws ClosedResourceException if the memory is closed
   * @throws HypervisorException if the operating system refuses
   */
  void reset(long offset, long length);

  /** Returns the memory to the operating system. Idempotent. */
  @Override
  void close();
}
