package dev.glint.sandbox.internal.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ElfLoaderTest {

  @Test
  void loadsAValidImage() {
    GuestImage image = new ElfLoader().load(TestElf.valid().build());
    assertEquals(0x200000, image.entry());
    assertEquals(2, image.segments().size());
    LoadSegment code = image.segments().get(0);
    assertTrue(code.executable() && !code.writable() && code.readable());
    LoadSegment data = image.segments().get(1);
    assertTrue(data.writable() && !data.executable());
    assertEquals(0x203000, image.end());
  }

  @Test
  void copiesSegmentsAndZeroesTheirTail() {
    GuestImage image = new ElfLoader().load(TestElf.valid().build());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(0x400000);
      memory.asSlice(0x201800, 0x1000).fill((byte) 0x55); // garbage where the bss goes
      image.copyInto(memory);
      assertEquals((byte) 0xEB, memory.get(ValueLayout.JAVA_BYTE, 0x200000));
      assertEquals((byte) 0xFE, memory.get(ValueLayout.JAVA_BYTE, 0x200001));
      assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, 0x201800 + 0x20));
      assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, 0x201800 + 0xFFF));
    }
  }

  @Test
  void keepsItsOwnCopyOfTheFile() {
    byte[] file = TestElf.valid().build();
    GuestImage image = new ElfLoader().load(file);
    Arrays.fill(file, (byte) 0);
    assertEquals((byte) 0xEB, image.file()[0x1000]);
  }

  /** One broken image: what to break and a fragment of the expected message. */
  static Stream<Arguments> malformedImages() {
    return Stream.of(
        broken("truncated header", e -> Arrays.copyOf(e.build(), 40), "shorter than the 64-byte"),
        broken("empty file", e -> new byte[0], "shorter than the 64-byte"),
        broken("bad magic", patch(0, 0x7E), "ELF magic"),
        broken("32-bit class", patch(4, 1), "EI_CLASS is 1"),
        broken("big-endian", patch(5, 2), "EI_DATA is 2"),
        broken("ident version", patch(6, 0), "EI_VERSION is 0"),
        broken("shared object", patchShort(0x10, 3), "e_type is 3"),
        broken("wrong machine", patchShort(0x12, 3), "e_machine is 3"),
        broken("e_version", patchInt(0x14, 2), "e_version is 2"),
        broken("e_ehsize", patchShort(0x34, 52), "e_ehsize is 52"),
        broken("e_phentsize", patchShort(0x36, 32), "e_phentsize is 32"),
        broken("no program headers", patchShort(0x38, 0), "e_phnum is 0"),
        broken("too many segments", patchShort(0x38, 17), "e_phnum is 17"),
        broken(
            "program headers past the end",
            patchLong(0x20, 0x1FF0),
            "program header table [e_phoff 0x1ff0, +0x70) lies outside the file"),
        broken("program header offset overflowing", patchLong(0x20, -8), "lies outside the file"),
        broken(
            "segment outside the file",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x201800, 0x900, 0x1000));
              return e.build();
            },
            "segment 1: p_offset + p_filesz (0x2100) exceeds the file size (0x2000)"),
        broken(
            "offset + size overflowing",
            e -> {
              e.segments.set(
                  1, new TestElf.Phdr(1, 6, 0x7FFF_FFFF_FFFF_F800L, 0x201800, 0x1000, 0x1000));
              return e.build();
            },
            "segment 1: p_offset + p_filesz (0x8000000000000800) exceeds the file size"),
        broken(
            "huge unsigned offset",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, -0x800L, 0x201800, 0x10, 0x1000));
              return e.build();
            },
            "exceeds the file size"),
        broken(
            "filesz > memsz",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x201800, 0x20, 0x10));
              return e.build();
            },
            "segment 1: p_filesz (0x20) exceeds p_memsz (0x10)"),
        broken(
            "vaddr and offset misaligned",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x201900, 0x20, 0x100));
              return e.build();
            },
            "differ modulo the page size"),
        broken(
            "overlapping segments",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x200800, 0x20, 0x100));
              return e.build();
            },
            "segment 0 [0x200000, 0x201000) and segment 1 [0x200000, 0x201000) overlap"),
        broken(
            "writable and executable",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 7, 0x1800, 0x201800, 0x20, 0x100));
              return e.build();
            },
            "segment 1 is both writable and executable"),
        broken(
            "no executable segment",
            e -> {
              e.segments.set(0, new TestElf.Phdr(1, 4, 0x1000, 0x200000, 0x10, 0x10));
              return e.build();
            },
            "no PT_LOAD segment is executable"),
        broken(
            "entry outside executable segment",
            e -> {
              e.entry = 0x201800;
              return e.build();
            },
            "rule 6: e_entry 0x201800 does not lie inside an executable PT_LOAD segment"),
        broken(
            "entry just past the code",
            e -> {
              e.entry = 0x200010;
              return e.build();
            },
            "rule 6"),
        broken(
            "PT_INTERP",
            e -> {
              e.segments.add(new TestElf.Phdr(3, 4, 0x100, 0, 0x10, 0x10));
              return e.build();
            },
            "segment 2 is PT_INTERP"),
        broken(
            "PT_DYNAMIC",
            e -> {
              e.segments.add(new TestElf.Phdr(2, 6, 0x100, 0, 0x10, 0x10));
              return e.build();
            },
            "segment 2 is PT_DYNAMIC"),
        broken(
            "PT_TLS",
            e -> {
              e.segments.add(new TestElf.Phdr(7, 4, 0x100, 0, 0x10, 0x10));
              return e.build();
            },
            "segment 2 is PT_TLS"),
        broken(
            "unknown segment type",
            e -> {
              e.segments.add(new TestElf.Phdr(0x6474E552, 4, 0x100, 0, 0x10, 0x10));
              return e.build();
            },
            "segment 2 has type 0x6474e552"),
        broken(
            "vaddr below the image base",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x1F800, 0x20, 0x100));
              return e.build();
            },
            "segment 1: [p_vaddr 0x1f800, + p_memsz 0x100) lies outside the image area"),
        broken(
            "image larger than the image area",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x201800, 0x20, 16L << 20));
              return e.build();
            },
            "lies outside the image area [0x200000, 0x1200000)"),
        broken(
            "memsz wrapping around",
            e -> {
              e.segments.set(1, new TestElf.Phdr(1, 6, 0x1800, 0x201800, 0x20, -0x1000L));
              return e.build();
            },
            "rule 5: segment 1"),
        broken(
            "no PT_LOAD at all",
            e -> {
              e.segments.replaceAll(p -> new TestElf.Phdr(4, 4, 0x100, 0, 0x10, 0x10));
              return e.build();
            },
            "no PT_LOAD segment"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedImages")
  void refusesMalformedImages(String name, byte[] file, String expected) {
    ImageFormatException e =
        assertThrows(ImageFormatException.class, () -> new ElfLoader().load(file));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected '%s' in '%s'".formatted(expected, e.getMessage()));
  }

  @Test
  void refusesAnOversizedFile() {
    byte[] file = new byte[(int) ElfLoader.MAX_FILE_SIZE + 1];
    System.arraycopy(TestElf.valid().build(), 0, file, 0, 0x2000);
    ImageFormatException e =
        assertThrows(ImageFormatException.class, () -> new ElfLoader().load(file));
    assertTrue(e.getMessage().startsWith("rule 7:"), e.getMessage());
  }

  @Test
  void ignoresNoteAndGnuStackSegments() {
    TestElf elf = TestElf.valid();
    elf.segments.add(new TestElf.Phdr(4, 4, 0x100, 0, 0x10, 0x10));
    elf.segments.add(new TestElf.Phdr(0x6474E551, 6, 0, 0, 0, 0));
    elf.segments.add(new TestElf.Phdr(0, 0, 0, 0, 0, 0));
    assertEquals(2, new ElfLoader().load(elf.build()).segments().size());
  }

  @Test
  void segmentsMayTouchAtAPageBoundary() {
    TestElf elf = TestElf.valid();
    elf.segments.set(1, new TestElf.Phdr(1, 6, 0x1000, 0x201000, 0x20, 0x100));
    GuestImage image = new ElfLoader().load(elf.build());
    assertArrayEquals(
        new long[] {0x200000, 0x201000},
        image.segments().stream().mapToLong(LoadSegment::virtualAddress).toArray());
  }

  private static Arguments broken(String name, Function<TestElf, byte[]> breaker, String message) {
    return Arguments.of(name, breaker.apply(TestElf.valid()), message);
  }

  private static Function<TestElf, byte[]> patch(int offset, int value) {
    return e -> {
      byte[] bytes = e.build();
      bytes[offset] = (byte) value;
      return bytes;
    };
  }

  private static Function<TestElf, byte[]> patchShort(int offset, int value) {
    return e -> {
      byte[] bytes = e.build();
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putShort(offset, (short) value);
      return bytes;
    };
  }

  private static Function<TestElf, byte[]> patchInt(int offset, int value) {
    return e -> {
      byte[] bytes = e.build();
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
      return bytes;
    };
  }

  private static Function<TestElf, byte[]> patchLong(int offset, long value) {
    return e -> {
      byte[] bytes = e.build();
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(offset, value);
      return bytes;
    };
  }
}
