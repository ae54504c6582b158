package dev.glint.hv.x86;

/**
 * An attribute of the pages of one range mapped by {@link PageTableBuilder}. A range with none of
 * them is present, read-only, supervisor-only and executable.
 */
public enum PageAttribute {
  /** The R/W bit: writes are allowed (at CPL 0 only if CR0.WP is clear, read-only pages too). */
  WRITABLE,
  /** The U/S bit: CPL-3 code may access the pages. */
  USER,
  /**
   * The XD/NX bit: instruction fetches fault. Needs EFER.NXE (set by {@link LongMode}); without it
   * the bit is reserved and every access faults.
   */
  NO_EXECUTE,
  /**
   * Pre-sets the accessed and dirty bits of the leaf entries, so that the CPU never writes them. It
   * keeps page-table pages clean (cheap snapshots), at a price on PVM: there a CPL-3 read of a page
   * whose entry has A/D set may be reported dirty by the hypervisor's dirty log.
   */
  ACCESSED_DIRTY
}
