package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Misuse fails fast, with the documented exception type and a message that says what to fix. Each
 * assertion names a key phrase of that message (a case-insensitive regular expression), loose
 * enough for any wording that tells the user the problem.
 */
public abstract class ArgumentTests extends ConformanceTestBase {

  private static final Class<IllegalArgumentException> IAE = IllegalArgumentException.class;
  private static final long PAGE = Partition.PAGE_SIZE;

  /** Creates the test instance; JUnit calls it. */
  protected ArgumentTests() {}

  private Partition partition() {
    return hypervisor().createPartition(new PartitionConfig("conformance-arguments"));
  }

  @Test
  void overlappingMappingIsRejected() {
    try (Partition partition = partition();
        GuestMemory first = hypervisor().allocateMemory(16 * PAGE);
        GuestMemory second = hypervisor().allocateMemory(16 * PAGE)) {
      partition.map(0, first.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      var e =
          assertThrows(
              IAE, () -> partition.map(8 * PAGE, second.segment(), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "overlap");
      assertEquals(1, partition.mappings().size(), "the refused mapping is not recorded");
    }
  }

  @Test
  void misalignedGuestAddressIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      var e =
          assertThrows(
              IAE, () -> partition.map(0x1800, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "0x1800");
      assertMessage(e, "align|multiple of 4096");
    }
  }

  @Test
  void misalignedHostSegmentIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(4 * PAGE)) {
      MemorySegment misaligned = memory.segment().asSlice(8, 2 * PAGE);
      var e = assertThrows(IAE, () -> partition.map(0, misaligned, MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "align|multiple of 4096|page");
    }
  }

  @Test
  void hostSegmentSmallerThanAPageOrNotAWholeNumberOfPagesIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(4 * PAGE)) {
      var small =
          assertThrows(
              IAE,
              () ->
                  partition.map(
                      0, memory.segment().asSlice(0, 100), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(small, "size|multiple of 4096|page");
      var ragged =
          assertThrows(
              IAE,
              () ->
                  partition.map(
                      0, memory.segment().asSlice(0, PAGE + 512), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(ragged, "size|multiple of 4096|page");
    }
  }

  @Test
  void zeroSizedHostSegmentIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      var e =
          assertThrows(
              IAE,
              () ->
                  partition.map(0, memory.segment().asSlice(0, 0), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "empty|zero|size");
    }
  }

  @Test
  void heapSegmentIsRejected() {
    try (Partition partition = partition()) {
      MemorySegment heap = MemorySegment.ofArray(new long[2 * (int) PAGE / 8]);
      var e = assertThrows(IAE, () -> partition.map(0, heap, MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "native|heap|off-heap");
    }
  }

  @Test
  void readOnlyHostSegmentIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      var e =
          assertThrows(
              IAE,
              () -> partition.map(0, memory.segment().asReadOnly(), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "read-only");
    }
  }

  @Test
  void mappingWithoutReadIsRejected() {
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      var e =
          assertThrows(
              IAE,
              () ->
                  partition.map(
                      0, memory.segment(), EnumSet.of(MemoryFlag.WRITE, MemoryFlag.EXECUTE)));
      assertMessage(e, "READ");
    }
  }

  @Test
  void allocatedMemoryIsPageAlignedZeroedAndOfTheRequestedSize() {
    try (GuestMemory memory = hypervisor().allocateMemory(64 * PAGE)) {
      MemorySegment segment = memory.segment();
      assertEquals(64 * PAGE, memory.byteSize());
      assertEquals(64 * PAGE, segment.byteSize());
      assertEquals(0, segment.address() % PAGE, "page-aligned address");
      assertTrue(segment.isNative() && !segment.isReadOnly(), "native and writable");
      for (long offset = 0; offset < segment.byteSize(); offset += 8) {
        if (segment.get(java.lang.foreign.ValueLayout.JAVA_LONG, offset) != 0) {
          throw new AssertionError("allocated memory is not zero at offset " + offset);
        }
      }
    }
  }

  @Test
  void badMemorySizesAreRejected() {
    long max = hypervisor().maxMemoryBytes();
    if (max <= Long.MAX_VALUE - 2 * PAGE) {
      var tooBig = assertThrows(IAE, () -> hypervisor().allocateMemory(max + PAGE));
      assertMessage(tooBig, "max|exceed|large|limit");
    }
    for (long size : new long[] {0, -PAGE, PAGE + 1}) {
      var e = assertThrows(IAE, () -> hypervisor().allocateMemory(size), "size " + size);
      assertMessage(e, "multiple of 4096|page|positive");
    }
  }

  @Test
  void secondVcpuIsRejected() {
    try (Partition partition = partition()) {
      partition.createVcpu();
      var e = assertThrows(IllegalStateException.class, partition::createVcpu);
      assertMessage(e, "one|already");
    }
  }

  @Test
  void runWithAnUnansweredIoInIsRejectedAndTheAnswerStillWorks() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.IN_SIZES, r -> r);
      guest.runExpecting(new VcpuExit.IoIn(0x50, 1));
      var e = assertThrows(IllegalStateException.class, guest.vcpu::run);
      assertMessage(e, "completeIoIn");
      guest.vcpu.completeIoIn(0x42);
      guest.runExpecting(new VcpuExit.IoIn(0x51, 2));
      assertEquals(0x42, guest.vcpu.registers().rbx() & 0xFF, "the late answer reached the guest");
    }
  }

  @Test
  void runWithAnUnansweredMmioReadIsRejectedAndTheAnswerStillWorks() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.LOAD_FROM_RBX, r -> r.with(Register.RBX, TestGuest.MMIO));
      guest.runExpecting(new VcpuExit.MmioRead(TestGuest.MMIO, 8));
      var e = assertThrows(IllegalStateException.class, guest.vcpu::run);
      assertMessage(e, "completeMmioRead");
      guest.vcpu.completeMmioRead(0x0123_4567_89AB_CDEFL);
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x0123_4567_89AB_CDEFL, guest.vcpu.registers().rax(), "the late answer");
    }
  }

  @Test
  void completingWithoutAPendingExitIsRejected() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.OUT_SIZES, r -> r);
      assertThrows(IllegalStateException.class, () -> guest.vcpu.completeIoIn(1));
      guest.runExpectingOut(0x40, 1, 0xDD);
      var e = assertThrows(IllegalStateException.class, () -> guest.vcpu.completeMmioRead(1));
      assertMessage(e, "MmioRead|mmio");
    }
  }

  @Test
  void unmapOfAMappingNotInThePartitionIsRejected() {
    requires(Capability.UNMAP);
    try (Partition partition = partition()) {
      MemoryMapping stranger = new MemoryMapping(0x10_0000, PAGE, MemoryFlag.READ_WRITE_EXECUTE);
      var e = assertThrows(IAE, () -> partition.unmap(stranger));
      assertMessage(e, "not .*mapp|no such mapping|unknown mapping");
    }
  }

  @Test
  void dirtyPagesOfAnUntrackedMappingIsRejected() {
    requires(Capability.DIRTY_PAGE_TRACKING);
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      MemoryMapping mapping = partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      var e = assertThrows(IAE, () -> partition.dirtyPages(mapping));
      assertMessage(e, "TRACK_DIRTY");
    }
  }

  @Test
  void absentCapabilitiesAreRefusedNotIgnored() {
    List<Executable> refusals = new ArrayList<>();
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      if (!hypervisor().has(Capability.READ_ONLY_MEMORY)) {
        refusals.add(() -> partition.map(0, memory.segment(), MemoryFlag.READ_EXECUTE));
      }
      if (!hypervisor().has(Capability.EXECUTE_PROTECTION)) {
        refusals.add(
            () -> partition.map(0, memory.segment(), Set.of(MemoryFlag.READ, MemoryFlag.WRITE)));
      }
      if (!hypervisor().has(Capability.DIRTY_PAGE_TRACKING)) {
        refusals.add(() -> partition.map(0, memory.segment(), TestGuest.trackedFlags()));
      }
      if (!hypervisor().has(Capability.CANCEL)) {
        Vcpu vcpu = partition.createVcpu();
        refusals.add(vcpu::interrupter);
      }
      org.junit.jupiter.api.Assumptions.assumeFalse(
          refusals.isEmpty(),
          "backend '%s' provides every capability that gates a method"
              .formatted(hypervisor().name()));
      for (Executable refusal : refusals) {
        assertThrows(MissingCapabilityException.class, refusal);
      }
      assertTrue(partition.mappings().isEmpty(), "no refused mapping was recorded");
    }
  }

  @Test
  void partitionIsUnusableAfterCloseButItsHostMemoryIsNot() {
    Partition partition = partition();
    try (GuestMemory memory = hypervisor().allocateMemory(PAGE);
        Partition other = partition()) {
      MemoryMapping mapping = partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      partition.close();
      assertTrue(partition.isClosed());
      var e =
          assertThrows(
              ClosedResourceException.class,
              () -> partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE));
      assertMessage(e, "closed");
      assertThrows(ClosedResourceException.class, partition::createVcpu);
      assertThrows(ClosedResourceException.class, partition::mappings);
      if (hypervisor().has(Capability.UNMAP)) {
        assertThrows(ClosedResourceException.class, () -> partition.unmap(mapping));
      }
      partition.close(); // idempotent
      // The partition owned the mapping, not the memory: it stays usable and mappable.
      memory.segment().set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 42);
      other.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
    }
  }

  @Test
  void dirtyPagesOfAnUnmappedMappingIsRejected() {
    requires(Capability.DIRTY_PAGE_TRACKING, Capability.UNMAP);
    try (Partition partition = partition();
        GuestMemory memory = hypervisor().allocateMemory(PAGE)) {
      MemoryMapping mapping = partition.map(0, memory.segment(), TestGuest.trackedFlags());
      partition.unmap(mapping);
      assertThrows(IAE, () -> partition.dirtyPages(mapping));
      var twice = assertThrows(IAE, () -> partition.unmap(mapping));
      assertMessage(twice, "not .*mapp|no such mapping|unknown mapping");
    }
  }

  @Test
  void twoHypervisorsAreIndependent() {
    try (Hypervisor second = provider().open();
        TestGuest guest = longModeGuest()) {
      second.close();
      guest.startKernel(GuestPrograms.HLT, r -> r);
      guest.run(VcpuExit.Halt.class); // the first hypervisor's partition still runs
    }
  }

  @Test
  void vcpuIsUnusableAfterItsCloseOrItsPartitionsClose() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HLT, r -> r);
      guest.vcpu.close();
      assertThrows(ClosedResourceException.class, guest.vcpu::run);
      assertThrows(ClosedResourceException.class, guest.vcpu::registers);
      assertThrows(
          ClosedResourceException.class, () -> guest.vcpu.setRegisters(Registers.initial()));
      assertThrows(ClosedResourceException.class, guest.vcpu::specialRegisters);
      assertThrows(
          ClosedResourceException.class, () -> guest.vcpu.setSpecialRegisters(guest.kernelMode()));
      guest.vcpu.close(); // idempotent
    }
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HLT, r -> r);
      guest.partition.close();
      var e = assertThrows(ClosedResourceException.class, guest.vcpu::run);
      assertMessage(e, "closed");
      assertThrows(ClosedResourceException.class, guest.vcpu::specialRegisters);
    }
  }

  @Test
  void memoryIsUnusableAfterClose() {
    GuestMemory memory = hypervisor().allocateMemory(PAGE);
    memory.close();
    var e = assertThrows(ClosedResourceException.class, memory::segment);
    assertMessage(e, "closed");
    memory.close(); // idempotent
  }

  @Test
  void hypervisorCloseClosesItsChildrenAndRefusesNewOnes() {
    Hypervisor own = provider().open();
    Partition partition = own.createPartition(new PartitionConfig("conformance-close"));
    GuestMemory memory = own.allocateMemory(PAGE);
    partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
    Vcpu vcpu = partition.createVcpu();
    own.close();
    assertTrue(partition.isClosed(), "partition closed with the hypervisor");
    assertThrows(ClosedResourceException.class, vcpu::run);
    assertThrows(ClosedResourceException.class, memory::segment);
    var e =
        assertThrows(
            ClosedResourceException.class, () -> own.createPartition(PartitionConfig.defaults()));
    assertMessage(e, "closed");
    assertThrows(ClosedResourceException.class, () -> own.allocateMemory(PAGE));
    own.close(); // idempotent
  }
}
