package dev.glint.hv;

/**
 * An immutable copy of guest memory contents, the source of copy-on-write {@link GuestMemory}
 * clones: a snapshot image. Created by {@link Hypervisor#createImage}; {@link
 * Hypervisor#allocateMemory(MemoryImage)} makes a clone that starts with the image's bytes, and
 * {@link GuestMemory#reset} returns pages of a clone to them.
 *
 * <table class="striped">
 *   <caption>Cost, by capability</caption>
 *   <thead><tr><th></th><th>with {@link Capability#COPY_ON_WRITE_IMAGES}</th>
 *       <th>without (the full-copy fallback)</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code createImage}</td><td>one copy of the source (all-zero pages skipped)</td>
 *         <td>one copy of the source</td></tr>
 *     <tr><td>a clone</td><td>shares every page with the image until the guest or host writes it
 *         (cost and resident memory in proportion to the pages written)</td>
 *         <td>a full private copy (cost and memory in proportion to the image's size)</td></tr>
 *     <tr><td>{@code reset} of n pages</td><td>in proportion to n (the pages are dropped and
 *         refault from the image)</td><td>in proportion to n (the pages are copied back)</td></tr>
 *   </tbody>
 * </table>
 *
 * <p><b>Thread safety:</b> thread-safe: clones may be made from many threads at once.
 *
 * <p><b>Lifetime:</b> owned by whoever created it; closing the {@link Hypervisor} closes it too.
 * Closing an image while clones of it live is safe: the clones keep the contents they need (on
 * Linux, their mappings hold the image's file) and {@link GuestMemory#reset} on them still returns
 * pages to the image's bytes. After close, {@link Hypervisor#allocateMemory(MemoryImage)} with the
 * image throws {@link ClosedResourceException}. Close is idempotent.
 */
public interface MemoryImage extends AutoCloseable {

  /** {@return the size in bytes, a multiple of {@link Partition#PAGE_SIZE}} */
  long byteSize();

  /** {@return whether {@link #close()} has been called} */
  boolean isClosed();

  /** Frees the image's own resources (clones keep theirs). Idempotent. */
  @Override
  void close();
}
