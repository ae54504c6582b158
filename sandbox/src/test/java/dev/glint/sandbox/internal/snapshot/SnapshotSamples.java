package dev.glint.sandbox.internal.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.FpuState;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/** Builds seeded random snapshot contents and compares them, for the snapshot file tests. */
final class SnapshotSamples {
  private SnapshotSamples() {}

  static final long PAGE = 4096;

  /**
   * A small layout, for small, fast files: 6 MiB, since the heap starts at the first 2 MiB boundary
   * after the image (at 4 MiB here).
   */
  static final LayoutSizes SMALL = new LayoutSizes(6L << 20, 64L << 10, 16L << 10, 4096, 4096);

  /** An image of two pages above the image base. */
  static final long IMAGE_END = MemoryPlan.IMAGE_BASE + 0x2000;

  /** {@return functions covering every wire type as a return and as a parameter} */
  static List<FunctionSignature> everyWireType() {
    List<FunctionSignature> functions = new ArrayList<>();
    List<WireType> nonVoid = Arrays.stream(WireType.values()).skip(1).toList();
    functions.add(new FunctionSignature("every_parameter_type", WireType.VOID, nonVoid));
    for (WireType type : WireType.values()) {
      functions.add(new FunctionSignature("returns_" + type.abiName(), type, List.of()));
    }
    List<WireType> sixteen = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      sixteen.add(nonVoid.get(i % nonVoid.size()));
    }
    functions.add(new FunctionSignature("sixteen", WireType.U64, sixteen));
    // 255 bytes of UTF-8 with two- and four-byte characters: the longest name.
    String longName = "é".repeat(100) + "😀".repeat(13) + "x".repeat(3);
    assertEquals(255, longName.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    functions.add(new FunctionSignature(longName, WireType.STRING, List.of(WireType.BYTES)));
    functions.add(new FunctionSignature("☃ snow man", WireType.BOOL, List.of(WireType.F32)));
    return functions;
  }

  /** {@return a few functions, for the corrupt-file table} */
  static List<FunctionSignature> fewFunctions() {
    return List.of(
        new FunctionSignature("Add", WireType.I32, List.of(WireType.I32, WireType.I32)),
        new FunctionSignature("Hash", WireType.BYTES, List.of(WireType.BYTES)),
        new FunctionSignature("Ping", WireType.VOID, List.of()),
        new FunctionSignature("Name", WireType.STRING, List.of(WireType.U64, WireType.BOOL)));
  }

  /**
   * {@return random contents: every register field random within its range, memory holding {@code
   * pages} random non-zero pages at random places}
   */
  static SnapshotContents random(
      Random random,
      Arena arena,
      LayoutSizes sizes,
      int pages,
      boolean withFpu,
      List<FunctionSignature> functions) {
    MemoryPlan plan = MemoryPlan.of(sizes, IMAGE_END);
    MemorySegment memory = arena.allocate(plan.memorySize(), PAGE);
    fillPages(random, memory, pages);
    return new SnapshotContents(
        "kvm",
        MemoryInitializer.ABI_MAJOR,
        random.nextBoolean() ? 0 : 3,
        plan,
        functions,
        registers(random),
        specialRegisters(random),
        withFpu ? Optional.of(fpu(random)) : Optional.empty(),
        memory);
  }

  /** Makes {@code count} distinct pages of {@code memory} non-zero, in three patterns. */
  static void fillPages(Random random, MemorySegment memory, int count) {
    int total = (int) (memory.byteSize() / PAGE);
    List<Integer> chosen = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      chosen.add(i);
    }
    java.util.Collections.shuffle(chosen, random);
    byte[] page = new byte[(int) PAGE];
    for (int i = 0; i < count; i++) {
      long at = chosen.get(i) * PAGE;
      switch (i % 3) {
        case 0 -> {
          random.nextBytes(page);
          MemorySegment.copy(page, 0, memory, ValueLayout.JAVA_BYTE, at, page.length);
        }
        // One non-zero byte at either end: the zero-page test must look at every byte.
        case 1 ->
            memory.set(ValueLayout.JAVA_BYTE, at + PAGE - 1, (byte) (1 + random.nextInt(255)));
        default -> memory.set(ValueLayout.JAVA_BYTE, at, (byte) 0x80);
      }
    }
  }

  static Registers registers(Random random) {
    long[] values = new long[18];
    for (int i = 0; i < values.length; i++) {
      values[i] = random.nextLong();
    }
    values[17] |= Registers.RFLAGS_RESERVED;
    return Registers.fromArray(values);
  }

  static Segment segment(Random random) {
    return new Segment(
        random.nextLong(),
        random.nextLong(0x1_0000_0000L),
        random.nextInt(0x1_0000),
        random.nextInt(16),
        random.nextBoolean(),
        random.nextInt(4),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean());
  }

  static SpecialRegisters specialRegisters(Random random) {
    return new SpecialRegisters(
        segment(random),
        segment(random),
        segment(random),
        segment(random),
        segment(random),
        segment(random),
        segment(random),
        segment(random),
        new DescriptorTable(random.nextLong(), random.nextInt(0x1_0000)),
        new DescriptorTable(random.nextLong(), random.nextInt(0x1_0000)),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong());
  }

  static FpuState fpu(Random random) {
    byte[] x87 = new byte[FpuState.X87_BYTES];
    byte[] xmm = new byte[FpuState.XMM_BYTES];
    random.nextBytes(x87);
    random.nextBytes(xmm);
    return new FpuState(
        x87,
        random.nextInt(0x1_0000),
        random.nextInt(0x1_0000),
        random.nextInt(0x100),
        random.nextInt(0x1_0000),
        random.nextLong(),
        random.nextLong(),
        xmm,
        random.nextInt());
  }

  /**
   * {@return the bytes {@link SnapshotFile#write(SnapshotContents,
   * java.nio.channels.WritableByteChannel)} gives}
   */
  static byte[] encode(SnapshotContents contents) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long written = SnapshotFile.write(contents, Channels.newChannel(out));
    assertEquals(written, out.size());
    return out.toByteArray();
  }

  /** Asserts that two contents hold the same values, memory compared byte for byte. */
  static void assertSameContents(SnapshotContents expected, SnapshotContents actual) {
    assertEquals(expected.backend(), actual.backend());
    assertEquals(expected.abiMajor(), actual.abiMajor());
    assertEquals(expected.cpl(), actual.cpl());
    assertEquals(expected.plan(), actual.plan());
    assertEquals(expected.functions(), actual.functions());
    assertEquals(expected.registers(), actual.registers());
    assertEquals(expected.specialRegisters(), actual.specialRegisters());
    assertEquals(expected.fpu(), actual.fpu());
    assertEquals(expected.memory().byteSize(), actual.memory().byteSize());
    assertEquals(-1, expected.memory().mismatch(actual.memory()), "memory differs at this offset");
    assertEquals(0, actual.memory().address() % PAGE, "memory is page-aligned");
  }
}
