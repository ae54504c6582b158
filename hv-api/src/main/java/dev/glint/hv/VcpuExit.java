package dev.glint.hv;

/**
 * Why {@link Vcpu#run()} returned: a closed set, so a {@code switch} over it is exhaustive.
 *
 * <p>After {@link IoIn} and {@link MmioRead} the caller supplies the value the guest reads with
 * {@link Vcpu#completeIoIn} or {@link Vcpu#completeMmioRead} before the next {@code run()}; after
 * {@link IoOut}, {@link MmioWrite}, {@link Halt} and {@link Cancelled} the next {@code run()}
 * continues with the following instruction. Sizes are in bytes.
 */
public sealed interface VcpuExit {

  /**
   * The guest executed {@code out}.
   *
   * @param port the I/O port, 0 to 0xFFFF
   * @param size 1, 2 or 4
   * @param data the value written, zero-extended
   */
  record IoOut(int port, int size, long data) implements VcpuExit {}

  /**
   * The guest executed {@code in}; answer with {@link Vcpu#completeIoIn} before the next run.
   *
   * @param port the I/O port, 0 to 0xFFFF
   * @param size 1, 2 or 4
   */
  record IoIn(int port, int size) implements VcpuExit {}

  /**
   * The guest read a guest-physical address that no mapping backs; answer with {@link
   * Vcpu#completeMmioRead} before the next run.
   *
   * @param address the guest-physical address
   * @param size 1, 2, 4 or 8
   */
  record MmioRead(long address, int size) implements VcpuExit {}

  /**
   * The guest wrote a guest-physical address that no writable mapping backs (unmapped, or mapped
   * read-only); memory is unchanged.
   *
   * @param address the guest-physical address
   * @param size 1, 2, 4 or 8
   * @param data the value written, zero-extended
   */
  record MmioWrite(long address, int size, long data) implements VcpuExit {}

  /** The guest executed {@code hlt} with interrupts it cannot receive. */
  record Halt() implements VcpuExit {}

  /** The guest triple-faulted (or otherwise shut down); the vCPU needs new registers to run. */
  record Shutdown() implements VcpuExit {}

  /** {@link VcpuInterrupter#interrupt()} stopped the run. */
  record Cancelled() implements VcpuExit {}

  /**
   * The hypervisor refused to enter the guest, usually because the register state is invalid.
   *
   * @param reason the backend's hardware entry failure reason
   * @param description what the backend knows about it
   */
  record FailEntry(long reason, String description) implements VcpuExit {}

  /**
   * The hypervisor could not handle the guest (for example an instruction its emulator does not
   * know).
   *
   * @param code the backend's sub-error code
   * @param description what the backend knows about it
   */
  record InternalError(long code, String description) implements VcpuExit {}

  /**
   * An exit this SPI has no record for.
   *
   * @param rawReason the backend's raw exit reason
   * @param description the backend's name for it, if known
   */
  record Unknown(long rawReason, String description) implements VcpuExit {}
}
