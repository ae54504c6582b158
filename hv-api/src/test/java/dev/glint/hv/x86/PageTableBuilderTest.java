package dev.glint.hv.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PageTableBuilderTest {

  private static final long MEMORY_ADDRESS = 0x10_0000; // the segment's first guest address
  private static final long TABLES = 0x10_1000;

  private final Arena arena = Arena.ofConfined();
  private final MemorySegment memory = arena.allocate(0x10_0000, 4096);

  @AfterEach
  void closeArena() {
    arena.close();
  }

  /** What a CPU walk of the written tables gives for one linear address. */
  private record Translation(
      long physical,
      boolean writable,
      boolean user,
      boolean noExecute,
      long leafEntry,
      int level) {}

  /** Walks the 4 levels as the CPU does (Intel SDM vol. 3, 4.5); null when not present. */
  private Translation walk(long cr3, long linear) {
    long table = cr3;
    boolean writable = true;
    boolean user = true;
    boolean noExecute = false;
    for (int level = 4; level >= 1; level--) {
      int shift = 12 + 9 * (level - 1);
      long entry = read(table + ((linear >>> shift) & 511) * 8);
      if ((entry & X86.PTE_PRESENT) == 0) {
        return null;
      }
      writable &= (entry & X86.PTE_WRITABLE) != 0;
      user &= (entry & X86.PTE_USER) != 0;
      noExecute |= (entry & X86.PTE_NO_EXECUTE) != 0;
      boolean leaf = level == 1 || (level == 2 && (entry & X86.PTE_LARGE) != 0);
      if (level > 1 && !leaf) {
        assertEquals(
            X86.PTE_PRESENT | X86.PTE_WRITABLE | X86.PTE_USER | X86.PTE_ACCESSED,
            entry & ~X86.PTE_ADDRESS_MASK,
            "upper levels grant everything so the leaf decides");
      }
      if (leaf) {
        long pageMask = (1L << shift) - 1;
        long frame = entry & X86.PTE_ADDRESS_MASK & ~pageMask;
        return new Translation(
            frame | (linear & pageMask), writable, user, noExecute, entry, level);
      }
      table = entry & X86.PTE_ADDRESS_MASK;
    }
    throw new AssertionError("unreachable");
  }

  private long read(long guestAddress) {
    return memory.get(ValueLayout.JAVA_LONG, guestAddress - MEMORY_ADDRESS);
  }

  @Test
  void mapsRangesToThemselvesWithTheirAttributesAndLeavesHolesUnmapped() {
    PageTables tables =
        new PageTableBuilder()
            .map(0x1000, 0x3000, Set.of())
            .map(0x5000, 0x1000, Set.of(PageAttribute.USER, PageAttribute.WRITABLE))
            .map(0x6000, 0x1000, Set.of(PageAttribute.NO_EXECUTE, PageAttribute.WRITABLE))
            .map(0x8000_0000L, 0x1000, Set.of(PageAttribute.USER))
            .write(memory, MEMORY_ADDRESS, TABLES, 0x8000);
    assertEquals(TABLES, tables.cr3());
    assertEquals(TABLES, tables.address());

    assertNull(walk(tables.cr3(), 0x0), "page 0 stays unmapped");
    assertNull(walk(tables.cr3(), 0xFFF));
    assertNull(walk(tables.cr3(), 0x4000), "the hole between ranges");
    assertNull(walk(tables.cr3(), 0x7000), "past the last low range");

    Translation kernel = walk(tables.cr3(), 0x2345);
    assertEquals(0x2345, kernel.physical());
    assertEquals(false, kernel.writable());
    assertEquals(false, kernel.user());
    assertEquals(false, kernel.noExecute());
    assertEquals(0, kernel.leafEntry() & (X86.PTE_ACCESSED | X86.PTE_DIRTY), "A/D clear");

    Translation user = walk(tables.cr3(), 0x5008);
    assertEquals(0x5008, user.physical());
    assertTrue(user.user() && user.writable() && !user.noExecute());

    Translation data = walk(tables.cr3(), 0x6000);
    assertTrue(data.noExecute() && data.writable() && !data.user());

    Translation high = walk(tables.cr3(), 0x8000_0FF0L);
    assertEquals(0x8000_0FF0L, high.physical());
    assertTrue(high.user() && !high.writable());
    // PML4, one PDPT (both below 512 GiB), a PD for 0 GiB and one for 2 GiB, a PT under each
    assertEquals(6, tables.tableCount());
    assertEquals(6 * 4096, tables.byteSize());
    assertEquals(TABLES + 6 * 4096, tables.endAddress());
  }

  @Test
  void usesLargePagesForWholeAlignedBlocksWithUniformAttributes() {
    Set<PageAttribute> rw = Set.of(PageAttribute.WRITABLE);
    PageTables tables =
        new PageTableBuilder()
            .map(0x1000, 0x1F_F000, rw) // [4 KiB, 2 MiB): not a whole block
            .map(0x20_0000, 0x10_0000, rw) // two adjacent ranges, same attributes:
            .map(0x30_0000, 0x10_0000, rw) // together the block [2 MiB, 4 MiB)
            .map(0x40_0000, 0x20_0000, Set.of(PageAttribute.WRITABLE, PageAttribute.USER))
            .write(memory, MEMORY_ADDRESS, TABLES, 0x8000);
    assertEquals(1, walk(tables.cr3(), 0x1000).level(), "4 KiB pages below 2 MiB");
    Translation coalesced = walk(tables.cr3(), 0x2F_F123);
    assertEquals(2, coalesced.level());
    assertEquals(0x2F_F123, coalesced.physical());
    Translation user = walk(tables.cr3(), 0x5F_FFFF);
    assertEquals(2, user.level());
    assertTrue(user.user());
    assertNull(walk(tables.cr3(), 0x60_0000));
    assertEquals(4, tables.tableCount(), "PML4, PDPT, PD and one PT");
  }

  @Test
  void smallPagesOnlyWhenLargePagesAreDisabled() {
    PageTableBuilder builder =
        new PageTableBuilder().largePages(false).map(0, 0x40_0000, Set.of(PageAttribute.WRITABLE));
    assertEquals(5 * 4096, builder.byteSize(), "PML4, PDPT, PD and two PTs");
    PageTables tables = builder.write(memory, MEMORY_ADDRESS, TABLES, 0x8000);
    Translation last = walk(tables.cr3(), 0x3F_F000);
    assertEquals(1, last.level());
    assertEquals(0x3F_F000, last.physical());
  }

  @Test
  void accessedDirtyPresetSetsBothBitsOnTheLeaf() {
    PageTables tables =
        new PageTableBuilder()
            .map(0x1000, 0x1000, Set.of(PageAttribute.ACCESSED_DIRTY, PageAttribute.WRITABLE))
            .write(memory, MEMORY_ADDRESS, TABLES, 0x8000);
    long leaf = walk(tables.cr3(), 0x1000).leafEntry();
    assertEquals(X86.PTE_ACCESSED | X86.PTE_DIRTY, leaf & (X86.PTE_ACCESSED | X86.PTE_DIRTY));
  }

  @Test
  void rewritesStaleBytesInTheTableArea() {
    memory.fill((byte) 0xFF);
    PageTables tables =
        new PageTableBuilder()
            .map(0x1000, 0x1000, Set.of())
            .write(memory, MEMORY_ADDRESS, TABLES, 0x8000);
    assertNull(walk(tables.cr3(), 0x2000), "stale bytes must not become entries");
  }

  @Test
  void rejectsMisalignedEmptyOverlappingAndNonCanonicalRanges() {
    PageTableBuilder builder = new PageTableBuilder().map(0x10000, 0x4000, Set.of());
    assertMessage(
        "multiple of 4096", assertThrows(IAE, () -> builder.map(0x1234, 0x1000, Set.of())));
    assertMessage(
        "multiple of 4096", assertThrows(IAE, () -> builder.map(0x1000, 0x800, Set.of())));
    assertMessage("positive", assertThrows(IAE, () -> builder.map(0x1000, 0, Set.of())));
    assertMessage(
        "overlaps range [0x10000, 0x14000)",
        assertThrows(IAE, () -> builder.map(0x13000, 0x2000, Set.of())));
    assertMessage(
        "lower canonical half",
        assertThrows(
            IAE, () -> builder.map(PageTableBuilder.MAX_ADDRESS - 0x1000, 0x2000, Set.of())));
    builder.map(0x14000, 0x1000, Set.of()); // adjacent is fine
  }

  @Test
  void rejectsATableAreaThatIsTooSmallMisalignedOrOutsideTheMemory() {
    PageTableBuilder builder = new PageTableBuilder().map(0x1000, 0x1000, Set.of());
    assertMessage(
        "need 16384 bytes (4 tables of 4 KiB) but the table area at 0x101000 holds 8192; enlarge it",
        assertThrows(IAE, () -> builder.write(memory, MEMORY_ADDRESS, TABLES, 0x2000)));
    assertMessage(
        "multiple of 4096",
        assertThrows(IAE, () -> builder.write(memory, MEMORY_ADDRESS, TABLES + 8, 0x8000)));
    assertMessage(
        "inside the memory segment",
        assertThrows(IAE, () -> builder.write(memory, MEMORY_ADDRESS, 0x1000, 0x8000)));
    assertMessage(
        "inside the memory segment",
        assertThrows(IAE, () -> builder.write(memory, MEMORY_ADDRESS, 0x1FF000, 0x8000)));
    assertMessage(
        "read-only",
        assertThrows(
            IAE, () -> builder.write(memory.asReadOnly(), MEMORY_ADDRESS, TABLES, 0x8000)));
    assertMessage(
        "no range mapped",
        assertThrows(
            IAE, () -> new PageTableBuilder().write(memory, MEMORY_ADDRESS, TABLES, 0x8000)));
  }

  private static final Class<IllegalArgumentException> IAE = IllegalArgumentException.class;

  private static void assertMessage(String expected, Exception e) {
    assertTrue(
        e.getMessage().contains(expected),
        () -> "'" + e.getMessage() + "' lacks '" + expected + "'");
  }
}
