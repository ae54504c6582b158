package dev.glint.hv.emulated.internal.mmu;

/**
 * Where the MMU sends guest accesses to guest-physical addresses no region backs (and writes to
 * read-only regions): the vCPU turns them into MMIO exits.
 */
public interface MmioHandler {

  /**
   * Reads {@code size} bytes at {@code gpa}: the host's answer to an earlier exit for this access,
   * or an {@link dev.glint.hv.emulated.internal.fault.ExitRequest} that stops the instruction and
   * asks the host.
   */
  long mmioRead(long gpa, int size);

  /** Writes {@code size} bytes at {@code gpa}: the exit is reported when the instruction ends. */
  void mmioWrite(long gpa, int size, long value);

  /** A guest write reached the physical page {@code gpaPage} that holds decoded code. */
  void codeWritten(long gpaPage);
}
