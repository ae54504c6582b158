package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Capability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.VcpuExit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Guest-physical memory: MMIO exits for unbacked addresses, read-only mappings, several mappings,
 * unmapping, isolation between partitions, and dirty-page tracking.
 */
public abstract class MemoryTests extends ConformanceTestBase {

  /** Creates the test instance; JUnit calls it. */
  protected MemoryTests() {}

  @ParameterizedTest(name = "{0}")
  @EnumSource(TestGuest.Privilege.class)
  void mmioReadsAndWritesOfAnUnbackedAddressExitWithAddressSizeAndData(
      TestGuest.Privilege privilege) {
    requires(privilege);
    try (TestGuest guest = longModeGuest()) {
      long base = TestGuest.MMIO;
      guest.start(
          privilege,
          GuestPrograms.MMIO,
          r -> r.with(Register.RBX, base).with(Register.RCX, 0x0102_0304_0506_0708L));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x10, 4, 0xDEAD_BEEFL));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x1, 1, 0x5A));
      guest.runExpecting(new VcpuExit.MmioWrite(base + 0x18, 8, 0x0102_0304_0506_0708L));
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x20, 4));
      guest.vcpu.completeMmioRead(0x1234_5678L);
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x30, 2));
      guest.vcpu.completeMmioRead(0xFFFF_BEEFL); // only the low 2 bytes may reach DX
      guest.runExpecting(new VcpuExit.MmioRead(base + 0x28, 8));
      guest.vcpu.completeMmioRead(0x1122_3344_5566_7788L);
      guest.runToDone();
      Registers registers = guest.vcpu.registers();
      assertEquals(0x1234_5678L, registers.rax(), "4-byte read into EAX");
      assertEquals(0xBEEFL, registers.rdx(), "2-byte read into DX, rest of RDX (0) kept");
      assertEquals(0x1122_3344_5566_7788L, registers.rsi(), "8-byte read into RSI");
    }
  }

  @Test
  void writeToReadOnlyMemoryExitsAsMmioAndLeavesMemoryUnchanged() {
    requires(Capability.READ_ONLY_MEMORY);
    try (TestGuest guest = longModeGuest();
        GuestMemory rom = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      rom.segment().set(ValueLayout.JAVA_INT, 0, 0x1122_3344);
      guest.partition.map(TestGuest.EXTRA_REGION, rom.segment(), MemoryFlag.READ_EXECUTE);
      guest.startKernel(
          GuestPrograms.READ_WRITE_READ, r -> r.with(Register.RBX, TestGuest.EXTRA_REGION));
      // The first read is served from memory without an exit.
      guest.runExpecting(new VcpuExit.MmioWrite(TestGuest.EXTRA_REGION, 4, 0x5566_7788L));
      guest.run(VcpuExit.Halt.class);
      Registers registers = guest.vcpu.registers();
      assertEquals(0x1122_3344L, registers.rax(), "read before the write");
      assertEquals(0x1122_3344L, registers.rcx(), "read after the write");
      assertEquals(0x1122_3344, rom.segment().get(ValueLayout.JAVA_INT, 0), "host memory");
    }
  }

  @Test
  void twoRegionsAreBothVisibleAtTheirAddresses() {
    try (TestGuest guest = longModeGuest();
        GuestMemory second = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      second.segment().set(ValueLayout.JAVA_LONG, 0, 41);
      MemoryMapping mapping =
          guest.partition.map(
              TestGuest.EXTRA_REGION, second.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      assertEquals(
          new MemoryMapping(
              TestGuest.EXTRA_REGION, TestGuest.EXTRA_REGION_SIZE, MemoryFlag.READ_WRITE_EXECUTE),
          mapping);
      assertEquals(List.of(guest.ramMapping, mapping), guest.partition.mappings());
      guest.startKernel(
          GuestPrograms.COPY_INCREMENTED,
          r ->
              r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RDI, TestGuest.USER_DATA));
      guest.run(VcpuExit.Halt.class);
      assertEquals(42, guest.readLong(TestGuest.USER_DATA), "written to the first region");
      assertEquals(42, second.segment().get(ValueLayout.JAVA_LONG, 8), "written to the second");
    }
  }

  @Test
  void accessAfterUnmapExitsAsMmio() {
    requires(Capability.UNMAP);
    try (TestGuest guest = longModeGuest();
        GuestMemory second = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      MemoryMapping mapping =
          guest.partition.map(
              TestGuest.EXTRA_REGION, second.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.WRITE_TWICE, r -> r.with(Register.RBX, TestGuest.EXTRA_REGION));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x1111_1111, second.segment().get(ValueLayout.JAVA_INT, 0), "while mapped");
      guest.partition.unmap(mapping);
      assertEquals(List.of(guest.ramMapping), guest.partition.mappings());
      guest.runExpecting(new VcpuExit.MmioWrite(TestGuest.EXTRA_REGION, 4, 0x2222_2222L));
      assertEquals(
          0x1111_1111, second.segment().get(ValueLayout.JAVA_INT, 0), "unchanged after unmap");
    }
  }

  /**
   * Mappings change between runs: an address that exited as MMIO is then served from memory mapped
   * there, and a different memory mapped at the same address after an unmap is seen instead of the
   * old one (no stale translation survives a change of the memory map).
   */
  @Test
  void mappingChangesBetweenRunsAreSeenByTheGuest() {
    requires(Capability.UNMAP);
    try (TestGuest guest = longModeGuest();
        GuestMemory first = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE);
        GuestMemory second = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      first.segment().set(ValueLayout.JAVA_LONG, 0, 0x1111);
      second.segment().set(ValueLayout.JAVA_LONG, 0, 0x2222);
      guest.startKernel(
          GuestPrograms.LOAD_FROM_RBX, r -> r.with(Register.RBX, TestGuest.EXTRA_REGION));
      guest.runExpecting(new VcpuExit.MmioRead(TestGuest.EXTRA_REGION, 8));
      guest.vcpu.completeMmioRead(0x0BAD);
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x0BAD, guest.vcpu.registers().rax(), "unbacked: the host's answer");

      MemoryMapping mapping =
          guest.partition.map(
              TestGuest.EXTRA_REGION, first.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      rerun(guest);
      assertEquals(0x1111, guest.vcpu.registers().rax(), "after map: the first memory");

      guest.partition.unmap(mapping);
      guest.partition.map(TestGuest.EXTRA_REGION, second.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      rerun(guest);
      assertEquals(0x2222, guest.vcpu.registers().rax(), "after remap: the second memory");
    }
  }

  /** Runs {@link GuestPrograms#LOAD_FROM_RBX} again from its start, to its halt. */
  private static void rerun(TestGuest guest) {
    guest.vcpu.setRegisters(guest.vcpu.registers().withRip(TestGuest.KERNEL_CODE));
    guest.run(VcpuExit.Halt.class);
  }

  @Test
  void aPageAlignedSliceOfGuestMemoryMapsThatSlice() {
    try (TestGuest guest = longModeGuest();
        GuestMemory memory = hypervisor().allocateMemory(4 * TestGuest.EXTRA_REGION_SIZE)) {
      long offset = 2 * TestGuest.EXTRA_REGION_SIZE;
      guest.partition.map(
          TestGuest.EXTRA_REGION,
          memory.segment().asSlice(offset, TestGuest.EXTRA_REGION_SIZE),
          MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION + 8).with(Register.RCX, 0x5117CE));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x5117CE, memory.segment().get(ValueLayout.JAVA_LONG, offset + 8), "in slice");
      assertEquals(0, memory.segment().get(ValueLayout.JAVA_LONG, 8), "not at the start");
    }
  }

  @Test
  void memoryAboveFourGibIsMappedAtItsFullAddress() {
    try (TestGuest guest = longModeGuest();
        GuestMemory high = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      guest.partition.map(TestGuest.HIGH_REGION, high.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.HIGH_REGION + 0x18).with(Register.RCX, 0x4_6167));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x4_6167, high.segment().get(ValueLayout.JAVA_LONG, 0x18), "above 4 GiB");
      assertEquals(0, guest.readLong(0x18), "not at the address truncated to 32 bits");
    }
  }

  /** Host memory need not come from {@code allocateMemory}: any native, page-aligned segment. */
  @Test
  void nativeMemoryFromAnArenaCanBeMapped() {
    try (TestGuest guest = longModeGuest();
        Arena arena = Arena.ofShared()) {
      MemorySegment host = arena.allocate(TestGuest.EXTRA_REGION_SIZE, Partition.PAGE_SIZE);
      MemoryMapping mapping =
          guest.partition.map(TestGuest.EXTRA_REGION, host, MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, 0xA7E4A));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0xA7E4A, host.get(ValueLayout.JAVA_LONG, 0));
      guest.partition.close(); // before the arena frees the memory behind the mapping
      assertTrue(guest.partition.isClosed(), "closed with " + mapping);
    }
  }

  @Test
  void guestWritesLandOnlyInItsOwnPartition() {
    try (TestGuest first = longModeGuest();
        TestGuest second = longModeGuest()) {
      // The same program writes to the same guest-physical address in both.
      first.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.USER_DATA).with(Register.RCX, 0xAAAA_0001L));
      second.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.USER_DATA).with(Register.RCX, 0xBBBB_0002L));
      first.run(VcpuExit.Halt.class);
      assertEquals(0, second.readLong(TestGuest.USER_DATA), "second untouched by the first");
      second.run(VcpuExit.Halt.class);
      assertEquals(0xAAAA_0001L, first.readLong(TestGuest.USER_DATA));
      assertEquals(0xBBBB_0002L, second.readLong(TestGuest.USER_DATA));
    }
  }

  /**
   * Runs at CPL 0, where every backend can tell a write from a read: on PVM, at CPL 3 the first
   * touch of a page whose guest PTE already has A/D set counts as dirty even for a read (the SPI
   * allows that over-report, see {@link dev.glint.hv.Partition#dirtyPages}). The suite's PTEs have
   * A/D clear, and the page tables live outside the tracked mapping, so the CPU's A/D updates do
   * not dirty it either.
   */
  @Test
  void dirtyPageTrackingReportsExactlyThePagesWritten() {
    requires(Capability.DIRTY_PAGE_TRACKING);
    try (TestGuest guest = longModeGuest();
        GuestMemory tracked = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      MemoryMapping mapping =
          guest.partition.map(TestGuest.EXTRA_REGION, tracked.segment(), TestGuest.trackedFlags());
      assertEquals(new BitSet(), guest.partition.dirtyPages(mapping), "nothing written yet");
      guest.startKernel(
          GuestPrograms.WRITE_PAGES_1_3_4_THEN_2,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, -1L));
      guest.runToDone();
      assertEquals(pages(1, 3, 4), guest.partition.dirtyPages(mapping), "first interval");
      assertEquals(1, tracked.segment().get(ValueLayout.JAVA_BYTE, 0x1000));
      guest.runToDone();
      assertEquals(pages(2), guest.partition.dirtyPages(mapping), "second interval");
      assertEquals(new BitSet(), guest.partition.dirtyPages(mapping), "nothing since");
    }
  }

  /**
   * Every page of a 2 MiB region written in one run is reported, in one interval: a backend whose
   * log holds a limited number of pages (KVM's dirty ring) must drain it while the guest runs,
   * never drop a page. At CPL 0, for the exact answer.
   */
  @Test
  void dirtyPageTrackingReportsEveryPageOfALargeWrite() {
    requires(Capability.DIRTY_PAGE_TRACKING);
    try (TestGuest guest = longModeGuest();
        GuestMemory tracked = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SPAN)) {
      MemoryMapping mapping =
          guest.partition.map(TestGuest.EXTRA_REGION, tracked.segment(), TestGuest.trackedFlags());
      int pages = (int) (TestGuest.EXTRA_REGION_SPAN / Partition.PAGE_SIZE);
      guest.startKernel(
          GuestPrograms.WRITE_RCX_PAGES,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, pages));
      guest.runToDone();
      BitSet all = new BitSet();
      all.set(0, pages);
      assertEquals(all, guest.partition.dirtyPages(mapping), "every page of the region");
      assertEquals(new BitSet(), guest.partition.dirtyPages(mapping), "nothing since");
    }
  }

  /**
   * At CPL 3 a backend may over-report (PVM counts the first touch of a page as dirty when the
   * hardware cannot tell a read from a write, see {@link dev.glint.hv.Partition#dirtyPages}), but
   * it must never miss a written page, nor report a page the guest never touched.
   */
  @Test
  void dirtyPageTrackingAtCpl3ReportsEveryWrittenPageAndNoUntouchedOne() {
    requires(Capability.DIRTY_PAGE_TRACKING, Capability.USER_MODE_ENTRY);
    try (TestGuest guest = longModeGuest();
        GuestMemory tracked = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      MemoryMapping mapping =
          guest.partition.map(TestGuest.EXTRA_REGION, tracked.segment(), TestGuest.trackedFlags());
      guest.startUser(
          GuestPrograms.WRITE_PAGES_1_3_4_THEN_2,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, -1L));
      guest.runToDone();
      BitSet first = guest.partition.dirtyPages(mapping);
      assertContainsExactlyOrAlso(first, pages(1, 3, 4), pages(6), "first interval");
      guest.runToDone();
      BitSet second = guest.partition.dirtyPages(mapping);
      assertContainsExactlyOrAlso(second, pages(2), new BitSet(), "second interval");
    }
  }

  /** Asserts {@code required} ⊆ {@code actual} ⊆ {@code required} ∪ {@code allowed}. */
  private static void assertContainsExactlyOrAlso(
      BitSet actual, BitSet required, BitSet allowed, String what) {
    BitSet missing = (BitSet) required.clone();
    missing.andNot(actual);
    assertEquals(new BitSet(), missing, what + ": written pages not reported, of " + actual);
    BitSet extra = (BitSet) actual.clone();
    extra.andNot(required);
    extra.andNot(allowed);
    assertEquals(new BitSet(), extra, what + ": untouched pages reported, of " + actual);
  }

  private static BitSet pages(int... indexes) {
    BitSet pages = new BitSet();
    for (int index : indexes) {
      pages.set(index);
    }
    return pages;
  }
}
