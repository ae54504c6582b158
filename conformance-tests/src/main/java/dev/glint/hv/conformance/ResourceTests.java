package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.Capability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Register;
import dev.glint.hv.VcpuExit;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Closing frees everything: many create/run/close cycles leave no file descriptor and no mapping
 * behind. Measured through {@code /proc/self} where it exists (Linux); elsewhere the cycles still
 * run and must not fail.
 */
public abstract class ResourceTests extends ConformanceTestBase {

  static final int CYCLES = 1000;
  static final int WARM_UP_CYCLES = 20;
  static final int HYPERVISOR_CYCLES = 200;

  /**
   * Growth allowed in mapped address space, in bytes; leaking each cycle's 256 KiB of guest memory
   * would add about 250 MiB.
   */
  static final long ADDRESS_SPACE_TOLERANCE = 96L << 20;

  /** Creates the test instance; JUnit calls it. */
  protected ResourceTests() {}

  @Test
  void thousandCreateRunCloseCyclesLeaveNoFileDescriptorOrMappingBehind() {
    // Warm up first: the first cycles may create things that live as long as the hypervisor or
    // the JVM (classes, a signal handler page, thread-local buffers).
    for (int i = 0; i < WARM_UP_CYCLES; i++) {
      cycle();
    }
    ProcessResources before = ProcessResources.sample();
    for (int i = 0; i < CYCLES; i++) {
      cycle();
    }
    ProcessResources after = ProcessResources.sample();
    after.assertNoGrowthSince(before, CYCLES + " cycles");
    after.assertAddressSpaceGrowthAtMost(before, ADDRESS_SPACE_TOLERANCE, CYCLES + " cycles");
  }

  /**
   * Opening and closing the hypervisor itself, with a partition run in each, leaves nothing behind
   * either (a backend holds a device handle per open hypervisor).
   */
  @Test
  void hypervisorOpenCloseCyclesLeaveNoFileDescriptorOrMappingBehind() {
    for (int i = 0; i < WARM_UP_CYCLES; i++) {
      hypervisorCycle();
    }
    ProcessResources before = ProcessResources.sample();
    for (int i = 0; i < HYPERVISOR_CYCLES; i++) {
      hypervisorCycle();
    }
    ProcessResources.sample().assertNoGrowthSince(before, HYPERVISOR_CYCLES + " hypervisor cycles");
  }

  private void hypervisorCycle() {
    try (Hypervisor own = provider().open();
        TestGuest guest = TestGuest.longMode(own, "conformance-hypervisor-cycle")) {
      guest.startKernel(GuestPrograms.HLT, r -> r);
      guest.run(VcpuExit.Halt.class);
    }
  }

  /**
   * Mapping and unmapping the same memory a thousand times in one partition must free what each
   * mapping holds (KVM has a few hundred memory slots): a leak makes a later map fail.
   */
  @Test
  void thousandMapUnmapCyclesInOnePartitionReuseTheirResources() {
    requires(Capability.UNMAP);
    try (TestGuest guest = longModeGuest();
        GuestMemory memory = hypervisor().allocateMemory(TestGuest.EXTRA_REGION_SIZE)) {
      for (int i = 0; i < CYCLES; i++) {
        MemoryMapping mapping =
            guest.partition.map(
                TestGuest.EXTRA_REGION, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
        guest.partition.unmap(mapping);
      }
      guest.partition.map(TestGuest.EXTRA_REGION, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.STORE_RCX,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, 0x600D));
      guest.run(VcpuExit.Halt.class);
      assertEquals(
          0x600D, memory.segment().get(ValueLayout.JAVA_LONG, 0), "the last mapping works");
    }
  }

  /** Allocates memory, creates a partition and its vCPU, runs to HLT, closes all. */
  private void cycle() {
    try (TestGuest guest = longModeGuest()) {
      guest.startKernel(GuestPrograms.HLT, r -> r);
      guest.run(VcpuExit.Halt.class);
    }
  }
}
