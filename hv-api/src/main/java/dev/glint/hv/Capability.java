package dev.glint.hv;

/**
 * An optional feature of a {@link Hypervisor}. A backend reports in {@link
 * Hypervisor#capabilities()} only what it really does; a method gated by an absent capability
 * throws {@link MissingCapabilityException}.
 */
public enum Capability {
  /**
   * Mappings without {@link MemoryFlag#WRITE}: a guest write to them exits as {@link
   * VcpuExit.MmioWrite} and leaves memory unchanged. Gates {@link Partition#map} with read-only
   * flags.
   */
  READ_ONLY_MEMORY,
  /**
   * Mappings without {@link MemoryFlag#EXECUTE} are enforced: an instruction fetch from them does
   * not execute. Without this capability, every mapping is executable.
   */
  EXECUTE_PROTECTION,
  /** Dirty-page tracking: {@link MemoryFlag#TRACK_DIRTY} and {@link Partition#dirtyPages}. */
  DIRTY_PAGE_TRACKING,
  /** {@link Partition#unmap} of a mapping while the partition lives. */
  UNMAP,
  /** {@link VcpuInterrupter#interrupt()} stops a running {@link Vcpu#run()}. */
  CANCEL,
  /** A vCPU starts in 16-bit real mode when its registers say so (CR0.PE clear). */
  REAL_MODE,
  /**
   * The host may start a vCPU directly at CPL 3 by setting its special registers (code and stack
   * segments with DPL 3), without running any CPL-0 guest code first.
   */
  USER_MODE_ENTRY,
  /**
   * {@link MemoryImage} clones share unwritten pages with their image (copy-on-write), so {@link
   * Hypervisor#allocateMemory(MemoryImage)} costs in proportion to the pages later written, not to
   * the image's size, and {@link GuestMemory#reset} drops pages rather than copying them. Without
   * it, the same methods work by full copies (see the table in {@link MemoryImage}).
   */
  COPY_ON_WRITE_IMAGES,
  /**
   * The host can read and write the vCPU's x87/SSE state: gates {@link Vcpu#fpuState()} and {@link
   * Vcpu#setFpuState}. Missing on KVM under PVM, where the FPU ioctls succeed but do nothing.
   */
  FPU_STATE
}
