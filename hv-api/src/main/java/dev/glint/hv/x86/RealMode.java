package dev.glint.hv.x86;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;

/**
 * The special registers of 16-bit real mode, close to the architectural reset state (Intel SDM vol.
 * 3, table 10-1) but with the code segment chosen by the caller, so that execution starts in low
 * memory rather than at the reset vector 0xFFFFFFF0. Stateless and thread-safe.
 */
public final class RealMode {
  private RealMode() {}

  /** CR0 at reset, without the cache-disable bits: only ET set, so paging and protection off. */
  public static final long CR0 = X86.CR0_ET;

  /**
   * {@return real-mode special registers with CS = {@code codeSegment} (base {@code codeSegment *
   * 16}) and DS, ES, FS, GS, SS = 0}
   *
   * @param codeSegment the 16-bit code segment, 0 to 0xFFFF
   * @throws IllegalArgumentException if out of range
   */
  public static SpecialRegisters specialRegisters(int codeSegment) {
    if (codeSegment < 0 || codeSegment > 0xFFFF) {
      throw new IllegalArgumentException(
          "real-mode segment 0x%x must fit 16 bits".formatted(codeSegment));
    }
    Segment code = Segment.realMode(codeSegment, 0xB);
    Segment data = Segment.realMode(0, 0x3);
    // At reset TR and LDTR are present with limit 0xFFFF: a busy 16/32-bit TSS and an LDT.
    Segment tr = new Segment(0, 0xFFFF, 0, 0xB, true, 0, false, true, false, false, false);
    Segment ldt = new Segment(0, 0xFFFF, 0, 0x2, true, 0, false, true, false, false, false);
    DescriptorTable table = new DescriptorTable(0, 0xFFFF);
    return new SpecialRegisters(
        code,
        data,
        data,
        data,
        data,
        data,
        tr,
        ldt,
        table,
        table,
        CR0,
        0,
        0,
        0,
        0,
        0,
        LongMode.APIC_BASE);
  }
}
