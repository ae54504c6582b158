package dev.glint.sandbox.internal.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.glint.sandbox.testing.Bounded;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the guest image loader (ABI §3). Contract: for any file, {@link ElfLoader#load} either
 * returns an image or throws {@link ImageFormatException}, never another exception, within {@link
 * Bounded#LIMIT}; and an image it returns keeps every rule: its segments lie in the image area in
 * order without sharing a page, none is writable and executable, the entry is in an executable one,
 * and copying it into guest memory writes exactly the file's bytes and zeros, nowhere else.
 *
 * <p>The corpus ({@code src/test/resources/.../image/ElfLoaderFuzzTestInputs/load}) holds the
 * loader tests' valid two-segment image and real guests from the SDK; {@code bin/glint-fuzz elf}
 * fuzzes for real.
 */
class ElfLoaderFuzzTest {
  /** A small image area, so that an accepted image's memory stays small (3 MiB at most). */
  private static final long AREA = 1L << 20;

  @FuzzTest(maxDuration = "30s")
  void load(byte[] file) throws Exception {
    Bounded.run(() -> loadOnce(file));
  }

  private static void loadOnce(byte[] file) {
    byte[] original = file.clone();
    GuestImage image;
    try {
      image = new ElfLoader(AREA).load(file);
    } catch (ImageFormatException expected) {
      return;
    }
    assertArrayEquals(original, file, "the loader must not change its input");
    long previousEnd = ElfLoader.IMAGE_BASE;
    boolean entryOk = false;
    for (LoadSegment s : image.segments()) {
      assertTrue(
          s.pageStart() >= previousEnd, () -> "segments overlap or are out of order: " + image);
      assertTrue(s.pageEnd() <= ElfLoader.IMAGE_BASE + AREA, () -> "segment past the area: " + s);
      assertTrue(s.fileSize() >= 0 && s.fileSize() <= s.memorySize(), () -> "sizes: " + s);
      assertTrue(
          s.fileOffset() >= 0 && s.fileOffset() + s.fileSize() <= file.length, () -> "file: " + s);
      assertTrue(!(s.writable() && s.executable()), () -> "W+X segment: " + s);
      entryOk |= s.executable() && s.contains(image.entry());
      previousEnd = s.pageEnd();
    }
    assertTrue(entryOk, () -> "entry outside executable segments: " + image);
    // Copy into a memory pre-filled with a marker: exactly the segments' bytes may change, to the
    // file's bytes and then zeros. (Compared with Arrays.equals: a byte loop under the fuzzer's
    // instrumentation would cost more than the rest of the input.)
    byte[] memory = new byte[Math.toIntExact(image.end())];
    java.util.Arrays.fill(memory, (byte) 0x5A);
    byte[] expected = memory.clone();
    for (LoadSegment s : image.segments()) {
      int at = Math.toIntExact(s.virtualAddress());
      System.arraycopy(
          file, Math.toIntExact(s.fileOffset()), expected, at, Math.toIntExact(s.fileSize()));
      java.util.Arrays.fill(
          expected,
          at + Math.toIntExact(s.fileSize()),
          at + Math.toIntExact(s.memorySize()),
          (byte) 0);
    }
    image.copyInto(MemorySegment.ofArray(memory));
    int mismatch = java.util.Arrays.mismatch(expected, memory);
    assertEquals(-1, mismatch, "guest memory differs from the segments at this address");
  }

  /**
   * Writes the seed corpus: the loader tests' valid image, and variants with a note segment and
   * with the largest segment count, which the fuzzer then mutates. The SDK's real guests are copied
   * in by hand ({@code guest/target/guest-bin/hello.elf}).
   *
   * @param args the corpus directory
   */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    Files.write(dir.resolve("valid-two-segments"), TestElf.valid().build());
    TestElf note = TestElf.valid();
    note.segments.add(new TestElf.Phdr(ElfLoader.PT_NOTE, 4, 0x1900, 0x202000, 0x10, 0x10));
    note.segments.add(new TestElf.Phdr(ElfLoader.PT_GNU_STACK, 6, 0, 0, 0, 0));
    Files.write(dir.resolve("valid-with-note"), note.build());
    TestElf many = new TestElf();
    many.fileSize = 0x12000;
    for (int i = 0; i < ElfLoader.MAX_PROGRAM_HEADERS; i++) {
      int flags = i == 0 ? 5 : 4;
      many.segments.add(
          new TestElf.Phdr(1, flags, 0x1000L * (i + 1), 0x200000L + 0x1000L * i, 0x10, 0x800));
    }
    Files.write(dir.resolve("valid-sixteen-segments"), many.build());
  }
}
