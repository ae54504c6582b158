package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * What the process holds, sampled from {@code /proc/self} where it exists (Linux); elsewhere each
 * count is empty and the comparisons check nothing, so leak tests still run their cycles.
 *
 * @param fileDescriptors open file descriptors
 * @param mappings lines of {@code /proc/self/maps}
 * @param mappedBytes total size of the mappings, in bytes
 */
record ProcessResources(
    OptionalLong fileDescriptors, OptionalLong mappings, OptionalLong mappedBytes) {

  /** Growth allowed in open file descriptors: the JVM may open a file or two meanwhile. */
  static final long FD_TOLERANCE = 3;

  /**
   * Growth allowed in {@code /proc/self/maps} lines: the JVM may map a code-cache or metaspace
   * chunk meanwhile; a leak of one mapping per cycle over hundreds of cycles shows far above it.
   */
  static final long MAPPING_TOLERANCE = 40;

  private static final Path FD_DIRECTORY = Path.of("/proc/self/fd");
  private static final Path MAPS = Path.of("/proc/self/maps");

  /** {@return the process's resources now} */
  static ProcessResources sample() {
    return new ProcessResources(countEntries(FD_DIRECTORY), countLines(MAPS), sumMappings(MAPS));
  }

  /**
   * Asserts that file descriptors and mappings did not grow beyond their tolerances since {@code
   * before}.
   *
   * @param over what ran in between, for the message, such as "1000 cycles"
   */
  void assertNoGrowthSince(ProcessResources before, String over) {
    assertAtMost(
        before.fileDescriptors, fileDescriptors, FD_TOLERANCE, "open file descriptors", over);
    assertAtMost(before.mappings, mappings, MAPPING_TOLERANCE, "memory mappings", over);
  }

  /** Asserts that the mapped address space grew by at most {@code toleranceBytes} since then. */
  void assertAddressSpaceGrowthAtMost(ProcessResources before, long toleranceBytes, String over) {
    if (before.mappedBytes.isPresent() && mappedBytes.isPresent()) {
      long grown = mappedBytes.getAsLong() - before.mappedBytes.getAsLong();
      assertTrue(
          grown <= toleranceBytes,
          () -> "mapped address space grew by %d MiB over %s".formatted(grown >> 20, over));
    }
  }

  private static void assertAtMost(
      OptionalLong before, OptionalLong after, long tolerance, String what, String over) {
    if (before.isPresent() && after.isPresent()) {
      assertTrue(
          after.getAsLong() <= before.getAsLong() + tolerance,
          () ->
              "%s grew from %d to %d over %s"
                  .formatted(what, before.getAsLong(), after.getAsLong(), over));
    }
  }

  private static OptionalLong countEntries(Path directory) {
    if (!Files.isDirectory(directory)) {
      return OptionalLong.empty();
    }
    try (Stream<Path> entries = Files.list(directory)) {
      return OptionalLong.of(entries.count());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static OptionalLong countLines(Path file) {
    if (!Files.isReadable(file)) {
      return OptionalLong.empty();
    }
    try (Stream<String> lines = Files.lines(file)) {
      return OptionalLong.of(lines.count());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@return the sum of the sizes of the mappings listed in {@code maps}} */
  private static OptionalLong sumMappings(Path maps) {
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
}
