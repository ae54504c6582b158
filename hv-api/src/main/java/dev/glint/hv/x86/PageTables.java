package dev.glint.hv.x86;

/**
 * Page tables written by {@link PageTableBuilder#write}: where they are and what to load in CR3.
 *
 * @param cr3 the value for CR3: the guest-physical address of the PML4 (PCD, PWT and PCID zero)
 * @param address the guest-physical address of the first table (equal to {@code cr3})
 * @param byteSize bytes written, a multiple of 4096 (one page per table)
 * @param tableCount number of 4 KiB tables: one PML4 plus the PDPTs, PDs and PTs
 */
public record PageTables(long cr3, long address, long byteSize, int tableCount) {

  /** {@return the first guest-physical address after the tables} */
  public long endAddress() {
    return address + byteSize;
  }
}
