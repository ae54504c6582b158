package dev.glint.hv.kvm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dirty-page tracking by KVM's dirty ring, and the same behaviour from the bitmap ({@code
 * KVM_GET_DIRTY_LOG}) where a test takes a ring size parameter: 0 is the bitmap. The ring is used
 * here wherever KVM has one, PVM included, whatever the default there. The conformance suite covers
 * the SPI contract on both paths ({@code KvmDirtyRingConformanceTest}, {@code
 * KvmBitmapDirtyLogConformanceTest}); these tests cover what is particular to the ring: a ring that
 * fills during a run, one that overflows (PVM, emulated CPL-0 code), pages of several slots
 * harvested by one call, slot ids reused after unmap, the ring's mapping, and the properties.
 * Skipped where {@code /dev/kvm} cannot be opened; the ring's own tests are skipped where KVM has
 * no ring.
 */
@Timeout(
    value = 120,
    threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a wedged ring fails, not hangs
class KvmDirtyRingTest {
  private static final long PAGE = 4096;

  private KvmHost host;
  private Hypervisor hypervisor;

  @BeforeEach
  void probe() {
    Path device = Path.of(KvmProbe.DEVICE);
    assumeTrue(
        Files.isReadable(device) && Files.isWritable(device),
        "/dev/kvm is absent or not accessible here; the KVM backend cannot run");
    KvmProbe.Result result = KvmProbe.result();
    assertTrue(result.availability().isAvailable(), () -> "KVM probe: " + result.availability());
    host = result.host().orElseThrow();
  }

  @AfterEach
  void close() {
    if (hypervisor != null) {
      hypervisor.close();
    }
  }

  /** Opens the hypervisor under test: a ring of {@code entries}, or the bitmap for 0. */
  private Hypervisor open(int entries) {
    if (entries > 0) {
      assumeTrue(host.hasDirtyRing(), "KVM here has no dirty ring (KVM_CAP_DIRTY_LOG_RING)");
    }
    hypervisor = KvmHypervisor.open(host, entries);
    return hypervisor;
  }

  private static BitSet pages(long first, long count, long step) {
    BitSet pages = new BitSet();
    for (long i = 0; i < count; i++) {
      pages.set((int) (first + i * step));
    }
    return pages;
  }

  /** By default the ring is used where KVM has one and privileged guest code runs natively. */
  @Test
  void theDefaultIsTheRingWhereKvmHasOneOffPvm() {
    boolean expected =
        host.hasDirtyRing() && host.privilegedExecution() == PrivilegedExecution.NATIVE;
    try (Hypervisor opened = new KvmHypervisorProvider().open();
        Partition partition = opened.createPartition(new PartitionConfig("default"))) {
      assertEquals(expected, ((KvmPartition) partition).usesDirtyRing());
      assertEquals(
          expected ? KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES : 0,
          ((KvmPartition) partition).dirtyRingEntries());
    }
  }

  @Test
  void dirtyRingTrueAndFalseChooseEitherPath() {
    assumeTrue(host.hasDirtyRing(), "KVM here has no dirty ring: the bitmap is the only path");
    for (String value : new String[] {"true", "false", " TRUE "}) {
      int expected = value.strip().equals("false") ? 0 : KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES;
      withProperty(
          KvmHypervisor.DIRTY_RING_PROPERTY,
          value,
          () -> {
            assertEquals(expected, KvmHypervisor.dirtyRingEntriesFromProperties(host), value);
            try (Hypervisor opened = new KvmHypervisorProvider().open();
                Partition partition = opened.createPartition(new PartitionConfig("chosen"))) {
              assertEquals(expected > 0, ((KvmPartition) partition).usesDirtyRing(), value);
            }
            return null;
          });
    }
    IllegalArgumentException thrown =
        withProperty(
            KvmHypervisor.DIRTY_RING_PROPERTY,
            "maybe",
            () ->
                assertThrows(
                    IllegalArgumentException.class,
                    () -> KvmHypervisor.dirtyRingEntriesFromProperties(host)));
    assertTrue(thrown.getMessage().contains("auto"), thrown.getMessage());
  }

  @Test
  void ringEntriesPropertyIsCheckedAndNamedInTheError() {
    assumeTrue(host.hasDirtyRing(), "KVM here has no dirty ring");
    String property = KvmHypervisor.DIRTY_RING_ENTRIES_PROPERTY;
    assertEquals(512, (int) withRingForced(property, "512", () -> ringEntriesAsked()));
    for (String bad : new String[] {"1000", "128", "abc", Integer.toString(1 << 30)}) {
      IllegalArgumentException thrown =
          withRingForced(
              property,
              bad,
              () -> assertThrows(IllegalArgumentException.class, () -> ringEntriesAsked()));
      assertTrue(thrown.getMessage().contains(property), () -> bad + ": " + thrown.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> KvmHypervisor.open(host, 100));
  }

  private int ringEntriesAsked() {
    return KvmHypervisor.dirtyRingEntriesFromProperties(host);
  }

  /** Runs {@code action} with the ring forced on and {@code name} set to {@code value}. */
  private static <T> T withRingForced(String name, String value, Supplier<T> action) {
    return withProperty(
        KvmHypervisor.DIRTY_RING_PROPERTY, "true", () -> withProperty(name, value, action));
  }

  /**
   * A ring of 1024 entries fills several times while the guest writes 4096 pages in one run at CPL
   * 3 (native everywhere, so KVM stops the guest at the ring's soft limit): each time the run
   * harvests it and goes on, and no page is lost.
   */
  @Test
  void aRingThatFillsDuringARunIsHarvestedAndNoPageIsLost() {
    int entries = 1024; // above KVM's reserve (64 entries, plus 512 with Intel PML) on any host
    assumeTrue(host.dirtyRingMaxBytes() >= 16L * entries, "the host's ring maximum is smaller");
    try (PageWriterGuest guest = new PageWriterGuest(open(entries), "ring-full")) {
      KvmPartition partition = (KvmPartition) guest.partition;
      int count = 4096;
      MemoryMapping mapping = guest.mapTracked(0, count * PAGE);
      guest.writePages(true, PageWriterGuest.WINDOW, count, PAGE);
      long fullExits = partition.dirtyRingFullExits();
      assertTrue(fullExits >= count / entries - 1, "only " + fullExits + " ring-full exits");
      assertEquals(0, partition.dirtyRingOverflows(), "KVM kept to its reserve at CPL 3");
      assertEquals(pages(0, count, 1), partition.dirtyPages(mapping), "every page written");

      guest.writePages(true, PageWriterGuest.WINDOW + PAGE, count / 3, 3 * PAGE);
      assertEquals(pages(1, count / 3, 3), partition.dirtyPages(mapping), "second interval");
      assertEquals(new BitSet(), partition.dirtyPages(mapping), "nothing since");
    }
  }

  /**
   * On PVM, emulated CPL-0 code logs a ring entry for every write, and KVM does not stop the guest
   * at the ring's soft limit within a batch of emulated instructions, so writing one page 20,000
   * times overflows a 1024-entry ring many times (the kernel warns once, in kvm_dirty_ring_push).
   * Entries are lost then: the interval reports every tracked page, once; later intervals are exact
   * again, at CPL 0 and at CPL 3, including for the pages whose entries were overwritten (which
   * only a fresh write-protection makes KVM log again). Elsewhere CPL-0 code runs natively and
   * nothing overflows; the same answers hold.
   */
  @Test
  void anOverflowedRingReportsEveryTrackedPageOnceThenExactPagesAgain() {
    int entries = 1024;
    assumeTrue(host.dirtyRingMaxBytes() >= 16L * entries, "the host's ring maximum is smaller");
    try (PageWriterGuest guest = new PageWriterGuest(open(entries), "overflow")) {
      KvmPartition partition = (KvmPartition) guest.partition;
      MemoryMapping mapping = guest.mapTracked(0, 16 * PAGE);
      guest.writePages(false, PageWriterGuest.WINDOW + PAGE, 15, PAGE);
      guest.writePages(false, PageWriterGuest.WINDOW, 20_000, 0);
      if (host.privilegedExecution() == PrivilegedExecution.EMULATED) {
        assertTrue(partition.dirtyRingOverflows() > 0, "PVM's emulator overflowed the ring");
      }
      assertEquals(pages(0, 16, 1), partition.dirtyPages(mapping), "every page, once");
      for (boolean user : new boolean[] {true, false}) {
        for (int page = 1; page < 16; page += 5) {
          guest.writePages(user, PageWriterGuest.WINDOW + page * PAGE, 1, PAGE);
          assertEquals(
              pages(page, 1, 1),
              partition.dirtyPages(mapping),
              "page " + page + " at CPL 3: " + user);
        }
      }
      assertEquals(new BitSet(), partition.dirtyPages(mapping), "nothing since");
    }
  }

  /**
   * The pages whose entries an overflow overwrote were never reset, so KVM would let CPL-3 code
   * write them again without logging it: after an overflow every tracked slot is write-protected
   * anew. PVM only (elsewhere nothing overflows). In one run, without the host touching a register:
   * CPL-3 code writes pages 1-15 (natively: KVM logs each once, then lets it write freely until the
   * entry is reset), traps into a CPL-0 handler that writes page 0 2000 times (emulated: an entry
   * per write, some 250 past the 256-entry ring's soft limit in one batch of kvm_pvm.pvm_emul_batch
   * instructions, over pages 1-15's entries) and returns to CPL 3. The next part writes pages 1-15
   * at CPL 3 again, and they must be reported.
   */
  @Test
  void pagesWhoseEntriesAnOverflowOverwroteAreLoggedAgain() {
    assumeTrue(
        host.privilegedExecution() == PrivilegedExecution.EMULATED,
        "only PVM's emulator overflows the ring");
    try (PageWriterGuest guest = new PageWriterGuest(open(256), "lost-entries")) {
      KvmPartition partition = (KvmPartition) guest.partition;
      MemoryMapping mapping = guest.mapTracked(0, 16 * PAGE);
      guest.startTrapProgram(PageWriterGuest.WINDOW, PageWriterGuest.WINDOW, 2000);
      guest.runToDone();
      assertTrue(partition.dirtyRingOverflows() > 0, "the ring overflowed");
      assertEquals(pages(0, 16, 1), partition.dirtyPages(mapping), "every page, once");
      guest.runToDone();
      assertEquals(pages(1, 15, 1), partition.dirtyPages(mapping), "written again at CPL 3");
    }
  }

  /** One call harvests every slot's pages; the others' wait for their own call. */
  @ParameterizedTest(name = "ring entries {0}")
  @ValueSource(ints = {0, KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES})
  void pagesOfOtherSlotsWaitForTheirOwnCall(int entries) {
    try (PageWriterGuest guest = new PageWriterGuest(open(entries), "two-slots")) {
      long secondOffset = 2L << 20;
      MemoryMapping first = guest.mapTracked(0, 16 * PAGE);
      MemoryMapping second = guest.mapTracked(secondOffset, 16 * PAGE);
      guest.writePages(PageWriterGuest.WINDOW, 3, PAGE);
      guest.writePages(PageWriterGuest.WINDOW + secondOffset + PAGE, 2, 2 * PAGE);
      assertEquals(pages(0, 3, 1), guest.partition.dirtyPages(first));
      guest.writePages(PageWriterGuest.WINDOW + 5 * PAGE, 1, PAGE);
      assertEquals(pages(1, 2, 2), guest.partition.dirtyPages(second));
      assertEquals(pages(5, 1, 1), guest.partition.dirtyPages(first));
      assertEquals(new BitSet(), guest.partition.dirtyPages(second));
    }
  }

  /** Pages of an unmapped slot never show up in the mapping that reuses its slot id. */
  @ParameterizedTest(name = "ring entries {0}")
  @ValueSource(ints = {0, KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES})
  void aReusedSlotIdStartsClean(int entries) {
    try (PageWriterGuest guest = new PageWriterGuest(open(entries), "reuse")) {
      MemoryMapping old = guest.mapTracked(0, 16 * PAGE);
      guest.writePages(PageWriterGuest.WINDOW, 8, PAGE);
      guest.partition.unmap(old);
      MemoryMapping replacement = guest.mapTracked(0, 16 * PAGE);
      assertEquals(new BitSet(), guest.partition.dirtyPages(replacement), "nothing written yet");
      guest.writePages(PageWriterGuest.WINDOW + 2 * PAGE, 1, PAGE);
      assertEquals(pages(2, 1, 1), guest.partition.dirtyPages(replacement));
    }
  }

  /** Closing the vCPU unmaps its ring, but the pages it held are still reported. */
  @ParameterizedTest(name = "ring entries {0}")
  @ValueSource(ints = {0, KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES})
  void pagesWrittenBeforeTheVcpuClosedAreStillReported(int entries) {
    try (PageWriterGuest guest = new PageWriterGuest(open(entries), "vcpu-closed")) {
      MemoryMapping mapping = guest.mapTracked(0, 16 * PAGE);
      guest.writePages(PageWriterGuest.WINDOW + PAGE, 4, 2 * PAGE);
      guest.vcpu.close();
      assertEquals(pages(1, 4, 2), guest.partition.dirtyPages(mapping));
      assertEquals(new BitSet(), guest.partition.dirtyPages(mapping));
    }
  }

  /**
   * Each vCPU maps {@code kvm_run} and, with a ring, the ring, both from its fd (shown as {@code
   * anon_inode:kvm-vcpu:0} in {@code /proc/self/maps}); closing unmaps both.
   */
  @ParameterizedTest(name = "ring entries {0}")
  @ValueSource(ints = {0, KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES})
  void theVcpuMapsItsRingAndUnmapsItAtClose(int entries) throws IOException {
    Hypervisor opened = open(entries);
    long before = vcpuMappings();
    try (PageWriterGuest guest = new PageWriterGuest(opened, "mappings")) {
      assertEquals(before + (entries > 0 ? 2 : 1), vcpuMappings(), "kvm_run and the ring");
      for (int i = 0; i < 50; i++) {
        new PageWriterGuest(opened, "cycle-" + i).close();
      }
    }
    assertEquals(before, vcpuMappings(), "after close");
  }

  private static long vcpuMappings() throws IOException {
    Path maps = Path.of("/proc/self/maps");
    assumeTrue(Files.isReadable(maps), "no /proc/self/maps");
    try (var lines = Files.lines(maps)) {
      return lines.filter(line -> line.contains("kvm-vcpu")).count();
    }
  }

  private static <T> T withProperty(String name, String value, Supplier<T> action) {
    String old = System.getProperty(name);
    System.setProperty(name, value);
    try {
      return action.get();
    } finally {
      if (old == null) {
        System.clearProperty(name);
      } else {
        System.setProperty(name, old);
      }
    }
  }
}
