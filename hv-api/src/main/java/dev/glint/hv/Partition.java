package dev.glint.hv;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Set;

/**
 * One virtual machine: a guest-physical address space made of {@link MemoryMapping}s of host
 * memory, and one {@link Vcpu}. Created by {@link Hypervisor#createPartition}.
 *
 * <p><b>Threading:</b> mapping and unmapping must not overlap with each other or with a running
 * vCPU; the caller serializes them. {@link #close()} may be called from any thread once the vCPU is
 * not running.
 *
 * <p><b>Lifetime:</b> the partition owns its vCPU and its mappings (not the host memory behind
 * them). {@link #close()} closes the vCPU, removes every mapping and frees the partition; it is
 * idempotent. Every method but {@code close()} then throws {@link ClosedResourceException}.
 */
public interface Partition extends AutoCloseable {

  /** The page size of guest memory, in bytes. */
  long PAGE_SIZE = 4096;

  /**
   * Maps {@code host} at guest-physical address {@code guestAddress}. The guest sees the host
   * memory directly: its writes land in {@code host} and host writes are visible to it.
   *
   * @param guestAddress the first guest-physical address, page-aligned
   * @param host native memory, page-aligned in address and size, that outlives the mapping
   *     (typically {@link GuestMemory#segment()} or a slice of it)
   * @param flags access rights; {@link MemoryFlag#READ} is required
   * @return the new mapping
   * @throws IllegalArgumentException if an address or size is not page-aligned, {@code host} is
   *     empty, not native, or read-only, the range overlaps an existing mapping or exceeds the
   *     guest-physical address width, or {@code READ} is missing
   * @throws MissingCapabilityException if the flags need a capability the hypervisor lacks
   * @throws ClosedResourceException if the partition is closed
   * @throws HypervisorException if the backend refuses the mapping
   */
  MemoryMapping map(long guestAddress, MemorySegment host, Set<MemoryFlag> flags);

  /**
   * Removes a mapping; guest accesses to its range then exit as MMIO.
   *
   * @throws IllegalArgumentException if {@code mapping} is not a current mapping of this partition
   * @throws MissingCapabilityException if the hypervisor lacks {@link Capability#UNMAP}
   * @throws ClosedResourceException if the partition is closed
   * @throws HypervisorException if the backend fails
   */
  void unmap(MemoryMapping mapping);

  /** {@return the current mappings, in ascending guest-address order} */
  List<MemoryMapping> mappings();

  /**
   * Returns the pages of {@code mapping} written since it was created or since the last call, and
   * starts a new tracking interval. Bit {@code i} stands for the page at {@code
   * mapping.guestAddress() + i * PAGE_SIZE}. A backend may report a page that was only read when
   * the hardware cannot tell (PVM at CPL 3, see the backend's notes); it never misses a written
   * page.
   *
   * @throws MissingCapabilityException if the hypervisor lacks {@link
   *     Capability#DIRTY_PAGE_TRACKING}
   * @throws IllegalArgumentException if {@code mapping} is not a current mapping of this partition
   *     or was mapped without {@link MemoryFlag#TRACK_DIRTY}
   * @throws ClosedResourceException if the partition is closed
   */
  BitSet dirtyPages(MemoryMapping mapping);

  /**
   * Creates the partition's vCPU, in the architectural reset state.
   *
   * @throws IllegalStateException if the vCPU already exists (a partition has one)
   * @throws ClosedResourceException if the partition is closed
   * @throws HypervisorException if the backend fails
   */
  Vcpu createVcpu();

  /** {@return whether {@link #close()} has been called} */
  boolean isClosed();

  /** Closes the vCPU, removes the mappings and frees the partition. Idempotent. */
  @Override
  void close();
}
