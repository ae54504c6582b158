package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Capability;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Register;
import dev.glint.hv.VcpuExit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.stream.Stream;
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

  /** Growth allowed in open file descriptors: the JVM may open a file or two meanwhile. */
  static final long FD_TOLERANCE = 3;

  /**
   * Growth allowed in {@code /proc/self/maps} lines: the JVM may map a code-cache or metaspace
   * chunk meanwhile; a leak of one mapping per cycle would show as about {@value #CYCLES}.
   */
  static final long MAPPING_TOLERANCE = 40;

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
    OptionalLong fdsBefore = count(Path.of("/proc/self/fd"));
    OptionalLong mapsBefore = lines(Path.of("/proc/self/maps"));
    OptionalLong sizeBefore = mappedBytes(Path.of("/proc/self/maps"));
    for (int i = 0; i < CYCLES; i++) {
      cycle();
    }
    OptionalLong fdsAfter = count(Path.of("/proc/self/fd"));
    OptionalLong mapsAfter = lines(Path.of("/proc/self/maps"));
    OptionalLong sizeAfter = mappedBytes(Path.of("/proc/self/maps"));
    if (fdsBefore.isPresent() && fdsAfter.isPresent()) {
      long before = fdsBefore.getAsLong();
      long after = fdsAfter.getAsLong();
      assertTrue(
          after <= before + FD_TOLERANCE,
          () ->
              "open file descriptors grew from %d to %d over %d cycles"
                  .formatted(before, after, CYCLES));
    }
    if (mapsBefore.isPresent() && mapsAfter.isPresent()) {
      long before = mapsBefore.getAsLong();
      long after = mapsAfter.getAsLong();
      assertTrue(
          after <= before + MAPPING_TOLERANCE,
          () ->
              "memory mappings grew from %d to %d over %d cycles".formatted(before, after, CYCLES));
    }
    if (sizeBefore.isPresent() && sizeAfter.isPresent()) {
      long before = sizeBefore.getAsLong();
      long after = sizeAfter.getAsLong();
      assertTrue(
          after <= before + ADDRESS_SPACE_TOLERANCE,
          () ->
              "mapped address space grew by %d MiB over %d cycles"
                  .formatted((after - before) >> 20, CYCLES));
    }
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
    OptionalLong fdsBefore = count(Path.of("/proc/self/fd"));
    OptionalLong mapsBefore = lines(Path.of("/proc/self/maps"));
    for (int i = 0; i < HYPERVISOR_CYCLES; i++) {
      hypervisorCycle();
    }
    OptionalLong fdsAfter = count(Path.of("/proc/self/fd"));
    OptionalLong mapsAfter = lines(Path.of("/proc/self/maps"));
    if (fdsBefore.isPresent() && fdsAfter.isPresent()) {
      long before = fdsBefore.getAsLong();
      long after = fdsAfter.getAsLong();
      assertTrue(
          after <= before + FD_TOLERANCE,
          () ->
              "open file descriptors grew from %d to %d over %d hypervisor cycles"
                  .formatted(before, after, HYPERVISOR_CYCLES));
    }
    if (mapsBefore.isPresent() && mapsAfter.isPresent()) {
      long before = mapsBefore.getAsLong();
      long after = mapsAfter.getAsLong();
      assertTrue(
          after <= before + MAPPING_TOLERANCE,
          () ->
              "memory mappings grew from %d to %d over %d hypervisor cycles"
                  .formatted(before, after, HYPERVISOR_CYCLES));
    }
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

  static OptionalLong count(Path directory) {
    if (!Files.isDirectory(directory)) {
      return OptionalLong.empty();
    }
    try (Stream<Path> entries = Files.list(directory)) {
      return OptionalLong.of(entries.count());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@return the sum of the sizes of the mappings listed in {@code maps}} */
  private static OptionalLong mappedBytes(Path maps) {
    if (!Files.isReadable(maps)) {
      return OptionalLong.empty();
    }
    try (Stream<String> lines = Files.lines(maps)) {
      return OptionalLong.of(
          lines
              .mapToLong(
                  line -> {
                    String range = line.substring(0, line.indexOf(' '));
                    int dash = range.indexOf('-');
                    return Long.parseUnsignedLong(range.substring(dash + 1), 16)
                        - Long.parseUnsignedLong(range.substring(0, dash), 16);
                  })
              .sum());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static OptionalLong lines(Path file) {
    if (!Files.isReadable(file)) {
      return OptionalLong.empty();
    }
    try (Stream<String> lines = Files.lines(file)) {
      return OptionalLong.of(lines.count());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
