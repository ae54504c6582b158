package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.Register;
import dev.glint.hv.VcpuExit;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Memory images and their copy-on-write clones ({@link MemoryImage}): the guest sees the image's
 * bytes, writes stay in the clone that took them, clones are independent, {@link GuestMemory#reset}
 * restores exactly the listed pages (and the guest sees the image bytes on its next run), and
 * closing the image while clones live is safe. These hold on every backend; {@link
 * Capability#COPY_ON_WRITE_IMAGES} changes only the cost.
 */
public abstract class ImageTests extends ConformanceTestBase {

  static final long SIZE = TestGuest.EXTRA_REGION_SIZE;
  static final long PAGE = Partition.PAGE_SIZE;

  /** Creates the test instance; JUnit calls it. */
  protected ImageTests() {}

  /** An image whose page {@code i} holds the long {@code 0x1000 + i} at offset 0 and 8. */
  private MemoryImage pattern() {
    try (GuestMemory source = hypervisor().allocateMemory(SIZE)) {
      for (long page = 0; page < SIZE / PAGE; page++) {
        source.segment().set(ValueLayout.JAVA_LONG, page * PAGE, 0x1000 + page);
        source.segment().set(ValueLayout.JAVA_LONG, page * PAGE + 8, 0x1000 + page);
      }
      MemoryImage image = hypervisor().createImage(source.segment());
      // Later changes to the source must not reach the image.
      source.segment().set(ValueLayout.JAVA_LONG, 0, -1L);
      return image;
    }
  }

  @Test
  void aCloneStartsWithTheImagesBytesAndTheGuestSeesThem() {
    try (MemoryImage image = pattern();
        GuestMemory clone = hypervisor().allocateMemory(image);
        TestGuest guest = longModeGuest()) {
      assertEquals(SIZE, image.byteSize());
      assertEquals(SIZE, clone.byteSize());
      assertEquals(Optional.of(image), clone.image());
      assertEquals(0x1000L, clone.segment().get(ValueLayout.JAVA_LONG, 0), "host view, page 0");
      assertEquals(0x1003L, clone.segment().get(ValueLayout.JAVA_LONG, 3 * PAGE), "page 3");
      guest.partition.map(TestGuest.EXTRA_REGION, clone.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.READ_WRITE_READ,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION + 2 * PAGE));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x1002L, guest.vcpu.registers().rax(), "the guest read the image's bytes");
      assertEquals(0x5566_7788L, guest.vcpu.registers().rcx(), "then its own write");
    }
  }

  @Test
  void guestWritesLandOnlyInItsOwnCloneAndClonesAreIndependent() {
    try (MemoryImage image = pattern();
        GuestMemory first = hypervisor().allocateMemory(image);
        GuestMemory second = hypervisor().allocateMemory(image);
        TestGuest guest = longModeGuest()) {
      guest.partition.map(TestGuest.EXTRA_REGION, first.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.READ_WRITE_READ, r -> r.with(Register.RBX, TestGuest.EXTRA_REGION + PAGE));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x5566_7788, first.segment().get(ValueLayout.JAVA_INT, PAGE), "the clone");
      assertEquals(0x1001L, second.segment().get(ValueLayout.JAVA_LONG, PAGE), "the other clone");
      // A host write to one clone does not reach the other, nor later clones.
      second.segment().set(ValueLayout.JAVA_LONG, 0, 0xBEEFL);
      assertEquals(0x1000L, first.segment().get(ValueLayout.JAVA_LONG, 0), "first, page 0");
      try (GuestMemory third = hypervisor().allocateMemory(image)) {
        assertEquals(0x1000L, third.segment().get(ValueLayout.JAVA_LONG, 0), "a later clone");
        assertEquals(0x1001L, third.segment().get(ValueLayout.JAVA_LONG, PAGE), "a later clone");
      }
    }
  }

  @Test
  void resetRestoresExactlyTheListedPagesAndTheGuestSeesTheImageBytes() {
    try (MemoryImage image = pattern();
        GuestMemory clone = hypervisor().allocateMemory(image);
        TestGuest guest = longModeGuest()) {
      for (long page = 0; page < SIZE / PAGE; page++) {
        clone.segment().set(ValueLayout.JAVA_LONG, page * PAGE, 0xD000 + page);
      }
      guest.partition.map(TestGuest.EXTRA_REGION, clone.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      guest.startKernel(
          GuestPrograms.READ_WRITE_READ,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION + 5 * PAGE));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0xD005L, guest.vcpu.registers().rax(), "the host's write before the reset");

      BitSet pages = new BitSet();
      pages.set(1);
      pages.set(2);
      pages.set(5);
      clone.reset(pages);
      clone.reset(7 * PAGE, PAGE);
      for (long page = 0; page < SIZE / PAGE; page++) {
        boolean reset = page == 1 || page == 2 || page == 5 || page == 7;
        assertEquals(
            reset ? 0x1000 + page : 0xD000 + page,
            clone.segment().get(ValueLayout.JAVA_LONG, page * PAGE),
            "page " + page + (reset ? " (reset)" : " (kept)"));
        assertEquals(
            0x1000 + page,
            clone.segment().get(ValueLayout.JAVA_LONG, page * PAGE + 8),
            "page " + page + ", second long (never written)");
      }
      // The guest's next run sees the image's bytes, not its own earlier write.
      guest.vcpu.setRegisters(guest.vcpu.registers().withRip(TestGuest.KERNEL_CODE));
      guest.run(VcpuExit.Halt.class);
      assertEquals(0x1005L, guest.vcpu.registers().rax(), "the guest reads the image after reset");
    }
  }

  @Test
  void resetOfPlainMemoryZeroesThePages() {
    try (GuestMemory memory = hypervisor().allocateMemory(SIZE)) {
      memory.segment().set(ValueLayout.JAVA_LONG, PAGE, 42);
      memory.segment().set(ValueLayout.JAVA_LONG, 2 * PAGE, 43);
      assertEquals(Optional.empty(), memory.image());
      memory.reset(PAGE, PAGE);
      assertEquals(0, memory.segment().get(ValueLayout.JAVA_LONG, PAGE), "reset");
      assertEquals(43, memory.segment().get(ValueLayout.JAVA_LONG, 2 * PAGE), "kept");
    }
  }

  /** Dirty tracking names the pages to reset: the snapshot-restore loop of a sandbox. */
  @Test
  void resettingTheDirtyPagesOfATrackedCloneRestoresTheImage() {
    requires(Capability.DIRTY_PAGE_TRACKING);
    try (MemoryImage image = pattern();
        GuestMemory clone = hypervisor().allocateMemory(image);
        TestGuest guest = longModeGuest()) {
      MemoryMapping mapping =
          guest.partition.map(TestGuest.EXTRA_REGION, clone.segment(), TestGuest.trackedFlags());
      guest.startKernel(
          GuestPrograms.WRITE_PAGES_1_3_4_THEN_2,
          r -> r.with(Register.RBX, TestGuest.EXTRA_REGION).with(Register.RCX, -1L));
      guest.runToDone();
      BitSet dirty = guest.partition.dirtyPages(mapping);
      assertTrue(dirty.get(1) && dirty.get(3) && dirty.get(4), "written pages reported: " + dirty);
      clone.reset(dirty);
      try (GuestMemory fresh = hypervisor().allocateMemory(image)) {
        assertEquals(
            -1L,
            clone.segment().mismatch(fresh.segment()),
            "the clone equals the image after resetting its dirty pages");
      }
    }
  }

  @Test
  void closingTheImageWhileClonesLiveIsSafeAndResetStillWorks() {
    MemoryImage image = pattern();
    try (GuestMemory clone = hypervisor().allocateMemory(image)) {
      clone.segment().set(ValueLayout.JAVA_LONG, PAGE, 7);
      image.close();
      image.close(); // idempotent
      assertTrue(image.isClosed());
      assertEquals(0x1000L, clone.segment().get(ValueLayout.JAVA_LONG, 0), "clone still readable");
      clone.reset(PAGE, PAGE);
      assertEquals(0x1001L, clone.segment().get(ValueLayout.JAVA_LONG, PAGE), "reset after close");
      assertThrows(ClosedResourceException.class, () -> hypervisor().allocateMemory(image));
    }
  }

  /**
   * An image outlives the hypervisor that made it and seeds clones in another one of the same
   * backend: how a snapshot that owns its image starts sandboxes with hypervisors of their own.
   */
  @Test
  void aCloneInAnotherHypervisorOfTheBackendSeesTheImageAfterItsMakerClosed() {
    MemoryImage image;
    try (dev.glint.hv.Hypervisor maker = provider().open()) {
      try (GuestMemory source = maker.allocateMemory(SIZE)) {
        source.segment().set(ValueLayout.JAVA_LONG, 3 * PAGE, 0xC0FFEEL);
        image = maker.createImage(source.segment());
      }
      try (GuestMemory clone = hypervisor().allocateMemory(image);
          TestGuest guest = longModeGuest()) {
        guest.partition.map(TestGuest.EXTRA_REGION, clone.segment(), MemoryFlag.READ_WRITE_EXECUTE);
        guest.startKernel(
            GuestPrograms.READ_WRITE_READ,
            r -> r.with(Register.RBX, TestGuest.EXTRA_REGION + 3 * PAGE));
        guest.run(VcpuExit.Halt.class);
        assertEquals(0xC0FFEEL, guest.vcpu.registers().rax(), "the guest read the image's bytes");
      }
    }
    assertTrue(image.isClosed(), "closing the hypervisor that made it closed the image");
    assertThrows(ClosedResourceException.class, () -> hypervisor().allocateMemory(image));
  }

  @Test
  void resetRefusesPagesOutsideTheMemory() {
    try (MemoryImage image = pattern();
        GuestMemory clone = hypervisor().allocateMemory(image)) {
      BitSet beyond = new BitSet();
      beyond.set((int) (SIZE / PAGE));
      assertThrows(IllegalArgumentException.class, () -> clone.reset(beyond));
      assertThrows(IllegalArgumentException.class, () -> clone.reset(1, PAGE));
      assertThrows(IllegalArgumentException.class, () -> clone.reset(SIZE, PAGE));
      assertThrows(IllegalArgumentException.class, () -> clone.reset(-PAGE, PAGE));
      clone.close();
      assertThrows(ClosedResourceException.class, () -> clone.reset(0, PAGE));
    }
  }

  @Test
  void createImageRefusesMisalignedContents() {
    try (GuestMemory source = hypervisor().allocateMemory(SIZE)) {
      assertThrows(
          IllegalArgumentException.class,
          () -> hypervisor().createImage(source.segment().asSlice(8, PAGE)));
      assertThrows(
          IllegalArgumentException.class,
          () -> hypervisor().createImage(source.segment().asSlice(0, PAGE + 8)));
      assertThrows(
          IllegalArgumentException.class,
          () -> hypervisor().createImage(source.segment().asSlice(0, 0)));
    }
  }

  /** Images and clones free their file descriptors and mappings on close. */
  @Test
  void imageAndCloneCyclesLeaveNoFileDescriptorOrMappingBehind() {
    for (int i = 0; i < 10; i++) {
      imageCycle();
    }
    ProcessResources before = ProcessResources.sample();
    for (int i = 0; i < 300; i++) {
      imageCycle();
    }
    ProcessResources.sample().assertNoGrowthSince(before, "300 image cycles");
  }

  private void imageCycle() {
    try (GuestMemory source = hypervisor().allocateMemory(SIZE)) {
      source.segment().set(ValueLayout.JAVA_LONG, 0, 1);
      MemoryImage image = hypervisor().createImage(source.segment());
      GuestMemory clone = hypervisor().allocateMemory(image);
      clone.segment().set(ValueLayout.JAVA_LONG, PAGE, 2);
      clone.reset(PAGE, PAGE);
      // Close in both orders across cycles.
      if ((System.nanoTime() & 1) == 0) {
        image.close();
        clone.close();
      } else {
        clone.close();
        image.close();
      }
    }
  }
}
