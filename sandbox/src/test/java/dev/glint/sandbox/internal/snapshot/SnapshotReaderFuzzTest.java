package dev.glint.sandbox.internal.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.glint.sandbox.testing.Bounded;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the snapshot file reader ({@code docs/snapshot-file.md}). Contract: for any bytes, {@link
 * SnapshotFile#read} either returns contents or throws {@link SnapshotFormatException}, never
 * another exception, within {@link Bounded#LIMIT}; contents it returns write back to exactly the
 * same bytes (the format is canonical, so nothing was misread or repaired); and reading through a
 * file leaves no descriptor open.
 *
 * <p>Input: byte 0 holds flags, the rest is the file. Flag bit 0 makes the harness compute both
 * CRC32C checksums over the mutated bytes first, where the header's own sizes say they go, so the
 * fuzzer gets past the checksums to the checks behind them; bit 1 reads through a temporary file
 * instead of from memory. Guest memory is capped at 6 MiB, the corpus's layout, so each input
 * allocates little. Corpus: {@code .../snapshot/SnapshotReaderFuzzTestInputs/read}; {@code
 * bin/glint-fuzz snapshot} fuzzes for real.
 */
class SnapshotReaderFuzzTest {
  private static final long MAX_MEMORY = SnapshotSamples.SMALL.memorySize();
  private static Path directory;
  private static long descriptorsBefore;

  @BeforeAll
  static void createDirectory() throws IOException {
    directory = Files.createTempDirectory("glint-snapshot-fuzz");
    descriptorsBefore = openDescriptors();
  }

  @AfterAll
  static void noDescriptorLeaked() throws IOException {
    try (var files = Files.list(directory)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(directory);
    long after = openDescriptors();
    // The fuzzer itself may open a few (corpus files); a leak per input would be thousands.
    assertTrue(
        after <= descriptorsBefore + 8, "descriptors: " + descriptorsBefore + " -> " + after);
  }

  @FuzzTest(maxDuration = "30s")
  void read(byte[] data) throws Exception {
    Bounded.run(() -> readOnce(data));
  }

  private static void readOnce(byte[] data) throws IOException {
    if (data.length < 1) {
      return;
    }
    byte[] file = java.util.Arrays.copyOfRange(data, 1, data.length);
    if ((data[0] & 1) != 0) {
      seal(file);
    }
    try (Arena arena = Arena.ofConfined()) {
      SnapshotContents contents;
      try {
        if ((data[0] & 2) != 0) {
          Path path = directory.resolve("input.snapshot");
          Files.write(path, file);
          contents = SnapshotFile.read(path, arena, MAX_MEMORY);
        } else {
          contents =
              SnapshotFile.read(MemorySegment.ofArray(file), "fuzz input", arena, MAX_MEMORY);
        }
      } catch (SnapshotFormatException expected) {
        return;
      }
      assertArrayEquals(
          file,
          SnapshotSamples.encode(contents),
          "a snapshot the reader accepts must write back to the same bytes");
    }
  }

  /** Writes both checksums where the file's own header fields put them, if they fit. */
  static void seal(byte[] file) {
    if (file.length < SnapshotLayout.FIXED_SIZE + 4) {
      return;
    }
    MemorySegment f = MemorySegment.ofArray(file);
    long tableSize =
        Integer.toUnsignedLong(
            f.get(SnapshotLayout.U32, SnapshotLayout.FUNCTION_TABLE_SIZE_OFFSET));
    long bitmapPages =
        Integer.toUnsignedLong(f.get(SnapshotLayout.U32, SnapshotLayout.BITMAP_PAGES_OFFSET));
    long headerCrcAt =
        SnapshotLayout.FIXED_SIZE + tableSize + SnapshotLayout.bitmapBytes(bitmapPages);
    if (headerCrcAt + 4 <= file.length - 4) {
      f.set(SnapshotLayout.U32, headerCrcAt, crc(f.asSlice(0, headerCrcAt)));
    }
    f.set(SnapshotLayout.U32, file.length - 4, crc(f.asSlice(0, file.length - 4)));
  }

  private static int crc(MemorySegment bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes.asByteBuffer());
    return (int) crc.getValue();
  }

  private static long openDescriptors() throws IOException {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  /**
   * Writes the seed corpus: valid 6 MiB snapshots (with and without FPU state and functions, with a
   * few stored pages), flagged to be sealed, one also to be read through a file.
   *
   * @param args the corpus directory
   */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    try (Arena arena = Arena.ofConfined()) {
      Random random = new Random(8);
      seed(
          dir,
          "fpu-four-functions-three-pages",
          1,
          SnapshotSamples.random(
              random, arena, SnapshotSamples.SMALL, 3, true, SnapshotSamples.fewFunctions()));
      seed(
          dir,
          "no-fpu-no-functions-one-page",
          1,
          SnapshotSamples.random(
              random, arena, SnapshotSamples.SMALL, 1, false, java.util.List.of()));
      seed(
          dir,
          "every-wire-type-through-a-file",
          3,
          SnapshotSamples.random(
              random, arena, SnapshotSamples.SMALL, 2, true, SnapshotSamples.everyWireType()));
    }
  }

  private static void seed(Path dir, String name, int flags, SnapshotContents contents)
      throws IOException {
    byte[] file = SnapshotSamples.encode(contents);
    byte[] data = new byte[file.length + 1];
    data[0] = (byte) flags;
    System.arraycopy(file, 0, data, 1, file.length);
    Files.write(dir.resolve(name), data);
  }
}
