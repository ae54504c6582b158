package dev.glint.hv;

import java.util.Set;

/**
 * An open hypervisor backend: the factory of {@link Partition}s and of {@link GuestMemory}.
 * Obtained from {@link dev.glint.hv.spi.HypervisorProvider#open()}.
 *
 * <p><b>Thread safety:</b> thread-safe; partitions may be created and closed from many threads at
 * once.
 *
 * <p><b>Lifetime:</b> {@link #close()} closes every partition and every guest memory it created
 * that is still open, then frees the hypervisor; it is idempotent. Other methods then throw {@link
 * ClosedResourceException}.
 */
public interface Hypervisor extends AutoCloseable {

  /** {@return the backend's stable name: "kvm", "mshv", "whp" or "emulated"} */
  String name();

  /** {@return a human description, such as "KVM API 12 on kvm_pvm"} */
  String description();

  /** {@return the optional features this hypervisor really provides} */
  Set<Capability> capabilities();

  /** {@return whether {@code capability} is in {@link #capabilities()}} */
  default boolean has(Capability capability) {
    return capabilities().contains(capability);
  }

  /** {@return how privileged (CPL-0) guest code runs on this host} */
  PrivilegedExecution privilegedExecution();

  /** {@return the largest total guest memory of one partition, in bytes} */
  long maxMemoryBytes();

  /**
   * Allocates zeroed, lazily backed, page-aligned guest memory.
   *
   * @param byteSize the size in bytes, a positive multiple of {@link Partition#PAGE_SIZE}
   * @throws IllegalArgumentException if the size is not a positive multiple of the page size or
   *     exceeds {@link #maxMemoryBytes()}
   * @throws ClosedResourceException if the hypervisor is closed
   * @throws HypervisorException if the operating system refuses
   */
  GuestMemory allocateMemory(long byteSize);

  /**
   * Creates an immutable image holding a copy of {@code contents}, the source of copy-on-write
   * clones ({@link #allocateMemory(MemoryImage)}). Later changes to {@code contents} do not reach
   * the image. See {@link MemoryImage} for the cost with and without {@link
   * Capability#COPY_ON_WRITE_IMAGES}; both work on every backend.
   *
   * @param contents the bytes, page-aligned in address and size (typically {@link
   *     GuestMemory#segment()}); must not be written while this runs
   * @return the image; the caller owns it and must close it
   * @throws IllegalArgumentException if {@code contents} is empty, not native, misaligned, or
   *     larger than {@link #maxMemoryBytes()}
   * @throws ClosedResourceException if the hypervisor is closed
   * @throws HypervisorException if the operating system refuses
   */
  MemoryImage createImage(java.lang.foreign.MemorySegment contents);

  /**
   * Allocates guest memory that starts with {@code image}'s bytes: a copy-on-write clone sharing
   * unwritten pages with the image when the hypervisor has {@link Capability#COPY_ON_WRITE_IMAGES},
   * otherwise a full copy. Writes to the clone (by the guest or the host) never reach the image or
   * other clones. {@link GuestMemory#reset} returns its pages to the image's bytes.
   *
   * <p>The image may come from another open hypervisor of the same backend in this process, so a
   * snapshot that owns its image can outlive the hypervisor that ran the guest and seed sandboxes
   * on hypervisors of their own.
   *
   * @param image an open image of this hypervisor or of another one of the same backend
   * @return the clone, {@link MemoryImage#byteSize()} bytes; the caller owns it and must close it
   * @throws IllegalArgumentException if the image belongs to another backend
   * @throws ClosedResourceException if the hypervisor or the image is closed
   * @throws HypervisorException if the operating system refuses
   */
  GuestMemory allocateMemory(MemoryImage image);

  /**
   * Creates an empty partition (no mappings, no vCPU).
   *
   * @throws ClosedResourceException if the hypervisor is closed
   * @throws HypervisorException if the backend fails
   */
  Partition createPartition(PartitionConfig config);

  /** Closes every partition and guest memory still open, then the hypervisor. Idempotent. */
  @Override
  void close();
}
