package dev.glint.hv.x86;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Builds identity-mapped (linear address = guest-physical address) 4-level long-mode page tables.
 *
 * <p>Each {@link #map} call adds a range with its own {@link PageAttribute}s; addresses not covered
 * by any range stay unmapped, so an access there raises #PF (use this for page 0 and stack guard
 * pages). Leaves are 4 KiB pages, or 2 MiB pages where a whole aligned 2 MiB block lies in ranges
 * with the same attributes (unless {@link #largePages(boolean) disabled}). Upper-level entries are
 * present, writable, user-accessible and executable, with the accessed bit pre-set, so that the
 * leaf alone decides the access rights and the CPU's walk never writes them.
 *
 * {@snippet :
 * PageTables tables =
 *     new PageTableBuilder()
 *         .map(0x1000, 0xF000, Set.of()) // tables, GDT, kernel code: supervisor, read-only
 *         .map(0x10000, 0x10000, Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE))
 *         .map(0x20000, 0x1000, Set.of(PageAttribute.USER)) // user code
 *         .write(ram.segment(), 0, 0x1000, 0x8000);
 * long cr3 = tables.cr3();
 * }
 *
 * <p>Not thread-safe: confine a builder to one thread. It may be written several times (to several
 * memories); each {@link #write} writes the same tables.
 */
public final class PageTableBuilder {

  /** The page size, in bytes: each table is one page. */
  public static final long PAGE_SIZE = 4096;

  /** The size of a page mapped by a page-directory entry with PS set, in bytes. */
  public static final long LARGE_PAGE_SIZE = 2L << 20;

  /**
   * The end of the lower canonical half, 2^47: identity-mapped addresses must lie below it, since a
   * linear address at or above it is either non-canonical or negative.
   */
  public static final long MAX_ADDRESS = 1L << 47;

  private static final int ENTRIES = 512;
  private static final long UPPER_LEVEL_FLAGS =
      X86.PTE_PRESENT | X86.PTE_WRITABLE | X86.PTE_USER | X86.PTE_ACCESSED;

  private record Range(long start, long end, Set<PageAttribute> attributes) {
    @Override
    public String toString() {
      return "[0x%x, 0x%x) %s".formatted(start, end, attributes);
    }
  }

  /** A table under construction; {@code children[i]} is set for an entry pointing to a table. */
  private static final class Table {
    final long[] leaves = new long[ENTRIES];
    final Table[] children = new Table[ENTRIES];
    int index;
  }

  private final List<Range> ranges = new ArrayList<>();
  private boolean largePages = true;

  /** Creates a builder with no ranges and 2 MiB pages enabled. */
  public PageTableBuilder() {}

  /**
   * Maps {@code [address, address + size)} to itself with the given attributes.
   *
   * @param address first address, a multiple of 4096
   * @param size length in bytes, a positive multiple of 4096
   * @param attributes the rights of every page in the range; empty means supervisor, read-only,
   *     executable
   * @return this builder
   * @throws IllegalArgumentException if the address or size is not page-aligned, the size is not
   *     positive, the range reaches {@link #MAX_ADDRESS}, or it overlaps a range already mapped
   */
  public PageTableBuilder map(long address, long size, Set<PageAttribute> attributes) {
    if (address < 0 || (address & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "page-table range address 0x%x must be non-negative and a multiple of %d"
              .formatted(address, PAGE_SIZE));
    }
    if (size <= 0 || (size & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "page-table range size %d (at 0x%x) must be a positive multiple of %d"
              .formatted(size, address, PAGE_SIZE));
    }
    if (size > MAX_ADDRESS - address) {
      throw new IllegalArgumentException(
          "page-table range [0x%x, 0x%x) must end at or below 0x%x (the lower canonical half)"
              .formatted(address, address + size, MAX_ADDRESS));
    }
    Set<PageAttribute> copy =
        attributes.isEmpty() ? EnumSet.noneOf(PageAttribute.class) : EnumSet.copyOf(attributes);
    Range range = new Range(address, address + size, Set.copyOf(copy));
    for (Range existing : ranges) {
      if (range.start < existing.end && existing.start < range.end) {
        throw new IllegalArgumentException(
            "page-table range %s overlaps range %s mapped before; map each address once"
                .formatted(range, existing));
      }
    }
    ranges.add(range);
    return this;
  }

  /**
   * Chooses whether aligned 2 MiB blocks with uniform attributes become 2 MiB pages (the default)
   * or are always split into 4 KiB pages (for example to test 4 KiB walks, or to change single
   * pages later).
   *
   * @param enabled whether to use 2 MiB pages
   * @return this builder
   */
  public PageTableBuilder largePages(boolean enabled) {
    this.largePages = enabled;
    return this;
  }

  /** {@return the bytes {@link #write} will write for the ranges mapped so far} */
  public long byteSize() {
    return build().size() * PAGE_SIZE;
  }

  /**
   * Writes the tables into guest memory.
   *
   * @param memory the host memory that backs guest-physical addresses from {@code memoryAddress}
   * @param memoryAddress the guest-physical address of {@code memory}'s first byte
   * @param tableAddress where the tables go (guest-physical), a multiple of 4096 inside {@code
   *     memory}; the PML4 comes first, so this is also CR3
   * @param tableAreaSize the bytes reserved for the tables at {@code tableAddress}; the tables must
   *     fit in it (see {@link #byteSize()})
   * @return where the tables are and the CR3 value
   * @throws IllegalArgumentException if no range was mapped, {@code memory} is read-only, {@code
   *     tableAddress} is not page-aligned, the area does not lie inside {@code memory}, or the
   *     tables do not fit in it
   */
  public PageTables write(
      MemorySegment memory, long memoryAddress, long tableAddress, long tableAreaSize) {
    if (ranges.isEmpty()) {
      throw new IllegalArgumentException("no range mapped; call map(...) before write(...)");
    }
    if (memory.isReadOnly()) {
      throw new IllegalArgumentException("cannot write page tables into a read-only segment");
    }
    if (tableAddress < 0 || (tableAddress & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "page-table address 0x%x must be non-negative and a multiple of %d"
              .formatted(tableAddress, PAGE_SIZE));
    }
    if (tableAreaSize < 0
        || tableAddress < memoryAddress
        || tableAddress - memoryAddress > memory.byteSize() - tableAreaSize) {
      throw new IllegalArgumentException(
          ("page-table area [0x%x, +0x%x) must lie inside the memory segment, which holds"
                  + " guest-physical [0x%x, 0x%x)")
              .formatted(
                  tableAddress, tableAreaSize, memoryAddress, memoryAddress + memory.byteSize()));
    }
    List<Table> tables = build();
    long needed = tables.size() * PAGE_SIZE;
    if (needed > tableAreaSize) {
      throw new IllegalArgumentException(
          "the page tables need %d bytes (%d tables of 4 KiB) but the table area at 0x%x holds %d; enlarge it"
              .formatted(needed, tables.size(), tableAddress, tableAreaSize));
    }
    long base = tableAddress - memoryAddress;
    for (Table table : tables) {
      long tableOffset = base + table.index * PAGE_SIZE;
      for (int i = 0; i < ENTRIES; i++) {
        Table child = table.children[i];
        long entry =
            child != null
                ? (tableAddress + child.index * PAGE_SIZE) | UPPER_LEVEL_FLAGS
                : table.leaves[i];
        memory.set(ValueLayout.JAVA_LONG_UNALIGNED, tableOffset + i * 8L, entry);
      }
    }
    return new PageTables(tableAddress, tableAddress, needed, tables.size());
  }

  /** Builds the table tree; returns the tables in creation order, PML4 first, indexed. */
  private List<Table> build() {
    List<Table> tables = new ArrayList<>();
    Table pml4 = newTable(tables);
    for (Range range : coalesced()) {
      long address = range.start;
      while (address < range.end) {
        boolean large =
            largePages
                && (address & (LARGE_PAGE_SIZE - 1)) == 0
                && range.end - address >= LARGE_PAGE_SIZE;
        Table pdpt = child(tables, pml4, index(address, 39));
        Table pd = child(tables, pdpt, index(address, 30));
        if (large) {
          pd.leaves[index(address, 21)] = leaf(address, range.attributes) | X86.PTE_LARGE;
          address += LARGE_PAGE_SIZE;
        } else {
          Table pt = child(tables, pd, index(address, 21));
          pt.leaves[index(address, 12)] = leaf(address, range.attributes);
          address += PAGE_SIZE;
        }
      }
    }
    return tables;
  }

  /**
   * The ranges sorted, with adjacent ranges of equal attributes merged, so that a 2 MiB block
   * spanning several such ranges still becomes one large page.
   */
  private List<Range> coalesced() {
    List<Range> sorted = new ArrayList<>(ranges);
    sorted.sort(Comparator.comparingLong(Range::start));
    List<Range> merged = new ArrayList<>();
    for (Range range : sorted) {
      Range last = merged.isEmpty() ? null : merged.getLast();
      if (last != null && last.end == range.start && last.attributes.equals(range.attributes)) {
        merged.set(merged.size() - 1, new Range(last.start, range.end, last.attributes));
      } else {
        merged.add(range);
      }
    }
    return merged;
  }

  private static Table newTable(List<Table> tables) {
    Table table = new Table();
    table.index = tables.size();
    tables.add(table);
    return table;
  }

  private static Table child(List<Table> tables, Table parent, int index) {
    Table child = parent.children[index];
    if (child == null) {
      child = newTable(tables);
      parent.children[index] = child;
    }
    return child;
  }

  private static int index(long address, int shift) {
    return (int) ((address >>> shift) & (ENTRIES - 1));
  }

  /**
   * {@return the leaf entry for the page at {@code address} with {@code attributes}}
   *
   * @param address the page's address, which is also its physical frame (identity map)
   * @param attributes the range's attributes
   */
  static long leaf(long address, Set<PageAttribute> attributes) {
    long entry = address | X86.PTE_PRESENT;
    if (attributes.contains(PageAttribute.WRITABLE)) {
      entry |= X86.PTE_WRITABLE;
    }
    if (attributes.contains(PageAttribute.USER)) {
      entry |= X86.PTE_USER;
    }
    if (attributes.contains(PageAttribute.NO_EXECUTE)) {
      entry |= X86.PTE_NO_EXECUTE;
    }
    if (attributes.contains(PageAttribute.ACCESSED_DIRTY)) {
      entry |= X86.PTE_ACCESSED | X86.PTE_DIRTY;
    }
    return entry;
  }
}
