package dev.glint.sandbox.internal.snapshot;

import static dev.glint.sandbox.internal.snapshot.SnapshotSamples.PAGE;
import static dev.glint.sandbox.internal.snapshot.SnapshotSamples.SMALL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.FpuState;
import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Round trips, sizes and atomic writes of snapshot files; the corrupt files are in another class.
 */
class SnapshotFileTest {
  private static final long MIB = 1L << 20;

  @TempDir Path directory;
  private Arena arena;

  @BeforeEach
  void openArena() {
    arena = Arena.ofConfined();
  }

  @AfterEach
  void closeArena() {
    arena.close();
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void roundTripsEveryField(long seed) throws IOException {
    Random random = new Random(seed);
    // Seeds alternate FPU state and function tables, so each combination runs three times.
    boolean withFpu = seed % 2 == 0;
    List<FunctionSignature> functions = seed % 3 == 0 ? List.of() : SnapshotSamples.everyWireType();
    SnapshotContents contents =
        SnapshotSamples.random(random, arena, LayoutSizes.defaults(), 50, withFpu, functions);
    Path file = directory.resolve("roundtrip.snap");
    SnapshotFile.write(contents, file);
    SnapshotContents read = SnapshotFile.read(file, arena);
    SnapshotSamples.assertSameContents(contents, read);
    assertEquals(withFpu, read.fpu().isPresent());
    assertEquals(functions.size(), read.functions().size());
  }

  @Test
  void roundTripsFromBytesAsFromAFile() throws IOException {
    SnapshotContents contents =
        SnapshotSamples.random(
            new Random(7), arena, SMALL, 9, true, SnapshotSamples.everyWireType());
    Path file = directory.resolve("bytes.snap");
    SnapshotFile.write(contents, file);
    byte[] bytes = SnapshotSamples.encode(contents);
    assertArrayEquals(Files.readAllBytes(file), bytes);
    SnapshotSamples.assertSameContents(contents, SnapshotFile.read(bytes, arena));
  }

  @Test
  void writesTheSameBytesForTheSameContents() throws IOException {
    SnapshotContents contents =
        SnapshotSamples.random(new Random(8), arena, SMALL, 5, true, List.of());
    byte[] once = SnapshotSamples.encode(contents);
    byte[] again = SnapshotSamples.encode(SnapshotFile.read(once, arena));
    assertArrayEquals(once, again);
  }

  @Test
  void storesNoZeroPage() throws IOException {
    // The header of a few functions fits in the first page; then only the 40 non-zero pages.
    SnapshotContents contents =
        SnapshotSamples.random(
            new Random(9), arena, LayoutSizes.defaults(), 40, true, SnapshotSamples.fewFunctions());
    byte[] bytes = SnapshotSamples.encode(contents);
    assertEquals(PAGE + 40 * PAGE + 4, bytes.length); // 167940 bytes for an 8 MiB guest

    MemorySegment zero = arena.allocate(8 * MIB, PAGE);
    SnapshotContents empty =
        new SnapshotContents(
            contents.backend(),
            contents.abiMajor(),
            contents.cpl(),
            contents.plan(),
            List.of(),
            contents.registers(),
            contents.specialRegisters(),
            Optional.empty(),
            zero);
    byte[] emptyBytes = SnapshotSamples.encode(empty);
    assertEquals(PAGE + 4, emptyBytes.length);
    SnapshotSamples.assertSameContents(empty, SnapshotFile.read(emptyBytes, arena));
  }

  @Test
  void aMostlyEmpty256MiBGuestGivesASmallFile() throws IOException {
    LayoutSizes sizes = new LayoutSizes(256 * MIB, MIB, 256 << 10, MIB, MIB);
    SnapshotContents contents =
        SnapshotSamples.random(
            new Random(10), arena, sizes, 100, true, SnapshotSamples.everyWireType());
    // A run of consecutive pages, to read and write in one piece.
    contents.memory().asSlice(200 * MIB, 4 * PAGE).fill((byte) 0x5A);
    Path file = directory.resolve("big.snap");
    SnapshotFile.write(contents, file);
    long size = Files.size(file);
    assertTrue(size < MIB, "file of " + size + " bytes");
    long nonZero = SnapshotWriter.nonZeroPages(contents.memory(), 65536).cardinality();
    assertTrue(nonZero >= 100, "non-zero pages: " + nonZero);
    long tableSize =
        Integer.toUnsignedLong(
            MemorySegment.ofArray(Files.readAllBytes(file))
                .get(SnapshotLayout.U32, SnapshotLayout.FUNCTION_TABLE_SIZE_OFFSET));
    long header = SnapshotLayout.pageAlign(SnapshotLayout.FIXED_SIZE + tableSize + 8192 + 4);
    assertEquals(header + nonZero * PAGE + 4, size);
    SnapshotSamples.assertSameContents(contents, SnapshotFile.read(file, arena));
  }

  @Test
  void replacesAFileAtomicallyAndLeavesNoTemporaryFile() throws IOException {
    Path file = directory.resolve("replace.snap");
    Files.writeString(file, "old contents");
    SnapshotContents contents =
        SnapshotSamples.random(new Random(11), arena, SMALL, 3, false, List.of());
    SnapshotFile.write(contents, file);
    SnapshotSamples.assertSameContents(contents, SnapshotFile.read(file, arena));
    try (Stream<Path> files = Files.list(directory)) {
      assertEquals(List.of(file), files.toList());
    }
  }

  @Test
  void aFailedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
    // A directory of that name cannot be replaced by a file: the move fails after the data is
    // written, and the temporary file must go.
    Path target = directory.resolve("taken");
    Files.createDirectory(target);
    Files.writeString(target.resolve("inside"), "x");
    SnapshotContents contents =
        SnapshotSamples.random(new Random(12), arena, SMALL, 3, false, List.of());
    assertThrows(IOException.class, () -> SnapshotFile.write(contents, target));
    try (Stream<Path> files = Files.list(directory)) {
      assertEquals(List.of(target), files.toList());
    }
    assertEquals("x", Files.readString(target.resolve("inside")));
  }

  @Test
  void refusesMemoryAboveTheCallersLimit() throws IOException {
    SnapshotContents contents =
        SnapshotSamples.random(new Random(13), arena, LayoutSizes.defaults(), 2, false, List.of());
    Path file = directory.resolve("limit.snap");
    SnapshotFile.write(contents, file);
    SnapshotFormatException e =
        assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(file, arena, 4 * MIB));
    assertTrue(
        e.getMessage().contains("memory size 8388608 exceeds the limit of 4194304 bytes"),
        e.getMessage());
    assertTrue(e.getMessage().startsWith("snapshot file " + file + ": "), e.getMessage());
  }

  @Test
  void contentsRefuseWhatAReaderWouldRefuse() {
    SnapshotContents valid =
        SnapshotSamples.random(new Random(14), arena, SMALL, 1, true, List.of());
    assertRefused("backend name length 0", valid, "", 3, valid.plan(), List.of(), valid.memory());
    assertRefused(
        "backend name length 65",
        valid,
        "k".repeat(65),
        3,
        valid.plan(),
        List.of(),
        valid.memory());
    assertRefused("printable ASCII", valid, "kvm\n", 3, valid.plan(), List.of(), valid.memory());
    assertRefused("printable ASCII", valid, "kvmé", 3, valid.plan(), List.of(), valid.memory());
    assertRefused("cpl 2 must be 0 or 3", valid, "kvm", 2, valid.plan(), List.of(), valid.memory());
    MemoryPlan p = valid.plan();
    MemoryPlan moved =
        new MemoryPlan(
            p.memorySize(),
            p.imageEnd(),
            p.heapAddress() + PAGE,
            p.heapSize(),
            p.inputAddress(),
            p.inputSize(),
            p.outputAddress(),
            p.outputSize(),
            p.guardPageAddress(),
            p.stackAddress(),
            p.stackSize());
    assertRefused("plan mismatch", valid, "kvm", 3, moved, List.of(), valid.memory());
    assertRefused(
        "memory holds 4096 bytes", valid, "kvm", 3, p, List.of(), valid.memory().asSlice(0, 4096));
    FunctionSignature f = new FunctionSignature("F", WireType.VOID, List.of());
    assertRefused("listed twice", valid, "kvm", 3, p, List.of(f, f), valid.memory());
    FunctionSignature nul = new FunctionSignature("a\0b", WireType.VOID, List.of());
    assertRefused("NUL", valid, "kvm", 3, p, List.of(nul), valid.memory());
    FunctionSignature surrogate = new FunctionSignature("a\uD800", WireType.VOID, List.of());
    assertRefused("unpaired surrogate", valid, "kvm", 3, p, List.of(surrogate), valid.memory());
    FunctionSignature empty = new FunctionSignature("", WireType.VOID, List.of());
    assertRefused("name length 0", valid, "kvm", 3, p, List.of(empty), valid.memory());
    FunctionSignature tooLong = new FunctionSignature("n".repeat(256), WireType.VOID, List.of());
    assertRefused("name length 256", valid, "kvm", 3, p, List.of(tooLong), valid.memory());
    List<FunctionSignature> many =
        java.util.stream.IntStream.range(0, 257)
            .mapToObj(i -> new FunctionSignature("f" + i, WireType.VOID, List.of()))
            .toList();
    assertRefused("257 functions", valid, "kvm", 3, p, many, valid.memory());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new SnapshotContents(
                    "kvm",
                    -1,
                    3,
                    p,
                    List.of(),
                    valid.registers(),
                    valid.specialRegisters(),
                    Optional.of(FpuState.initial()),
                    valid.memory()));
    assertTrue(e.getMessage().contains("ABI major version -1"), e.getMessage());
  }

  @Test
  void writesTheAbiItIsGivenAndRefusesAnotherOnRead() throws IOException {
    SnapshotContents valid =
        SnapshotSamples.random(new Random(15), arena, SMALL, 1, true, List.of());
    SnapshotContents other =
        new SnapshotContents(
            valid.backend(),
            MemoryInitializer.ABI_MAJOR + 1,
            valid.cpl(),
            valid.plan(),
            valid.functions(),
            valid.registers(),
            valid.specialRegisters(),
            valid.fpu(),
            valid.memory());
    byte[] bytes = SnapshotSamples.encode(other);
    SnapshotFormatException e =
        assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(bytes, arena));
    assertTrue(e.getMessage().contains("guest ABI major version 2 at byte 40"), e.getMessage());
  }

  private static void assertRefused(
      String fragment,
      SnapshotContents valid,
      String backend,
      int cpl,
      MemoryPlan plan,
      List<FunctionSignature> functions,
      MemorySegment memory) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new SnapshotContents(
                    backend,
                    MemoryInitializer.ABI_MAJOR,
                    cpl,
                    plan,
                    functions,
                    valid.registers(),
                    valid.specialRegisters(),
                    valid.fpu(),
                    memory));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }

  @Test
  void memoryReadBackIsACopyNotAViewOfTheBytes() throws IOException {
    SnapshotContents contents =
        SnapshotSamples.random(new Random(16), arena, SMALL, 4, false, List.of());
    byte[] bytes = SnapshotSamples.encode(contents);
    SnapshotContents read = SnapshotFile.read(bytes, arena);
    java.util.Arrays.fill(bytes, (byte) 0);
    SnapshotSamples.assertSameContents(contents, read);
  }
}
