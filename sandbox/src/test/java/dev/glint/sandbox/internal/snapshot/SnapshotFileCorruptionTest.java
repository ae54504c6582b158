package dev.glint.sandbox.internal.snapshot;

import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ABI_MAJOR_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_LENGTH_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BITMAP_PAGES_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.CPL_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FILE_SIZE_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FIXED_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FLAGS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_RESERVED1;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_RESERVED2;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_COUNT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_TABLE_SIZE_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.GDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.IDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PLAN_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.REGISTERS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.RESERVED_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENTS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_ATTRIBUTES;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_DPL;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_TYPE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.STORED_PAGES_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U16;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U32;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U64;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.VERSION_OFFSET;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Corrupt snapshot files: each region changed by a byte flip, a truncation or a field-level edit
 * with the checksums made right again (so that the check behind the checksum is what answers).
 * Every one must give a {@link SnapshotFormatException} naming the problem, and nothing else.
 */
class SnapshotFileCorruptionTest {
  private static final long PAGE = SnapshotSamples.PAGE;

  /** A valid 6 MiB snapshot: FPU state, four functions, five stored pages. */
  private static final byte[] VALID = validFile();

  private static final int LENGTH = VALID.length;
  private static final int FILE_CRC_AT = LENGTH - 4;
  private static final int BITMAP_AT = FIXED_SIZE + Parts.of(VALID).table.length;
  private static final int HEADER_CRC_AT = BITMAP_AT + Parts.of(VALID).bitmap.length;

  @TempDir Path directory;

  private static byte[] validFile() {
    try (Arena arena = Arena.ofConfined()) {
      return SnapshotSamples.encode(
          SnapshotSamples.random(
              new Random(42),
              arena,
              SnapshotSamples.SMALL,
              5,
              true,
              SnapshotSamples.fewFunctions()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The regions of a file, to edit one and put the file back together with right checksums. */
  static final class Parts {
    byte[] fixed;
    byte[] table;
    byte[] bitmap;
    byte[] padding;
    byte[] pages;

    static Parts of(byte[] file) {
      MemorySegment f = MemorySegment.ofArray(file);
      Parts parts = new Parts();
      int tableSize = f.get(U32, FUNCTION_TABLE_SIZE_OFFSET);
      int bitmapSize = (int) SnapshotLayout.bitmapBytes(f.get(U32, BITMAP_PAGES_OFFSET));
      int headerEnd = FIXED_SIZE + tableSize + bitmapSize + 4;
      int pagesAt = (int) SnapshotLayout.pageAlign(headerEnd);
      parts.fixed = Arrays.copyOfRange(file, 0, FIXED_SIZE);
      parts.table = Arrays.copyOfRange(file, FIXED_SIZE, FIXED_SIZE + tableSize);
      parts.bitmap = Arrays.copyOfRange(file, FIXED_SIZE + tableSize, headerEnd - 4);
      parts.padding = Arrays.copyOfRange(file, headerEnd, pagesAt);
      parts.pages = Arrays.copyOfRange(file, pagesAt, file.length - 4);
      return parts;
    }

    MemorySegment header() {
      return MemorySegment.ofArray(fixed);
    }

    Parts u8(long at, int value) {
      fixed[(int) at] = (byte) value;
      return this;
    }

    Parts u32(long at, long value) {
      header().set(U32, at, (int) value);
      return this;
    }

    Parts u64(long at, long value) {
      header().set(U64, at, value);
      return this;
    }

    long getU32(long at) {
      return Integer.toUnsignedLong(header().get(U32, at));
    }

    long getU64(long at) {
      return header().get(U64, at);
    }

    /**
     * {@return the file: the table size and file size fields set to the parts' sizes (padding
     * resized if the header grew or shrank), and both checksums computed}
     */
    byte[] seal() {
      u32(FUNCTION_TABLE_SIZE_OFFSET, table.length);
      int headerEnd = FIXED_SIZE + table.length + bitmap.length + 4;
      int paddingSize = (int) (SnapshotLayout.pageAlign(headerEnd) - headerEnd);
      if (padding.length != paddingSize) {
        padding = new byte[paddingSize];
      }
      long size = (long) headerEnd + padding.length + pages.length + 4;
      u64(FILE_SIZE_OFFSET, size);
      MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(size)]);
      long at = 0;
      for (byte[] part : List.of(fixed, table, bitmap)) {
        MemorySegment.copy(part, 0, out, ValueLayout.JAVA_BYTE, at, part.length);
        at += part.length;
      }
      out.set(U32, at, crc(out.asSlice(0, at)));
      at += 4;
      for (byte[] part : List.of(padding, pages)) {
        MemorySegment.copy(part, 0, out, ValueLayout.JAVA_BYTE, at, part.length);
        at += part.length;
      }
      out.set(U32, at, crc(out.asSlice(0, at)));
      return out.toArray(ValueLayout.JAVA_BYTE);
    }

    private static int crc(MemorySegment bytes) {
      CRC32C crc = new CRC32C();
      crc.update(bytes.asByteBuffer());
      return (int) crc.getValue();
    }
  }

  /** A case that edits the parts of the valid file and seals it again. */
  private static Arguments sealed(String name, Consumer<Parts> edit, String fragment) {
    UnaryOperator<byte[]> mutation =
        file -> {
          Parts parts = Parts.of(file);
          edit.accept(parts);
          return parts.seal();
        };
    return Arguments.of(name, mutation, fragment);
  }

  /** A case that changes the valid file's bytes and leaves the checksums as they are. */
  private static Arguments raw(String name, UnaryOperator<byte[]> mutation, String fragment) {
    return Arguments.of(name, mutation, fragment);
  }

  private static UnaryOperator<byte[]> flip(int at) {
    return file -> {
      byte[] copy = file.clone();
      copy[at] ^= 0x10;
      return copy;
    };
  }

  private static UnaryOperator<byte[]> truncate(int length) {
    return file -> Arrays.copyOf(file, length);
  }

  private static UnaryOperator<byte[]> setU32(int at, long value) {
    return file -> {
      byte[] copy = file.clone();
      MemorySegment.ofArray(copy).set(U32, at, (int) value);
      return copy;
    };
  }

  private static UnaryOperator<byte[]> setU64(int at, long value) {
    return file -> {
      byte[] copy = file.clone();
      MemorySegment.ofArray(copy).set(U64, at, value);
      return copy;
    };
  }

  private static long plan(int field) {
    return PLAN_OFFSET + 8L * field;
  }

  private static long segment(int index, int field) {
    return SEGMENTS_OFFSET + (long) SEGMENT_SIZE * index + field;
  }

  /**
   * Edits a byte of the function table (whose layout is in {@link SnapshotSamples#fewFunctions}).
   */
  private static Consumer<Parts> table(int at, int value) {
    return parts -> parts.table[at] = (byte) value;
  }

  private static Consumer<Parts> tableU16(int at, int value) {
    return parts -> MemorySegment.ofArray(parts.table).set(U16, at, (short) value);
  }

  private static int clearBit(Parts parts) {
    BitSet present = BitSet.valueOf(parts.bitmap);
    return present.nextClearBit(0);
  }

  static Stream<Arguments> corruptFiles() {
    long mib = 1L << 20;
    return Stream.of(
        // Magic and version, checked before anything else.
        raw("magic first byte", flip(0), "not a Glint snapshot: the magic at byte 0 is"),
        raw("magic last byte", flip(7), "not a Glint snapshot"),
        raw(
            "version 7",
            setU32(VERSION_OFFSET, 7),
            "unsupported format version 7 (this Glint reads version 1)"),
        raw("version 0", setU32(VERSION_OFFSET, 0), "unsupported format version 0"),
        raw("version 2", setU32(VERSION_OFFSET, 2), "unsupported format version 2"),
        raw("version -1", setU32(VERSION_OFFSET, -1), "unsupported format version 4294967295"),
        // Truncations and trailing bytes, checked against the declared size.
        raw("empty file", truncate(0), "truncated at byte 0"),
        raw("half a magic", truncate(5), "truncated at byte 5"),
        raw("half a version", truncate(10), "truncated at byte 10"),
        raw("fixed header cut", truncate(FIXED_SIZE - 1), "truncated at byte 1047"),
        raw("function table cut", truncate(FIXED_SIZE + 10), "truncated at byte 1058"),
        raw("bitmap cut", truncate(BITMAP_AT + 5), "truncated at byte " + (BITMAP_AT + 5)),
        raw("in the padding", truncate((int) PAGE - 1), "truncated at byte 4095"),
        raw("all pages cut", truncate((int) PAGE), "truncated at byte 4096"),
        raw("in a page", truncate(LENGTH - 1000), "truncated at byte " + (LENGTH - 1000)),
        raw(
            "last byte cut",
            truncate(LENGTH - 1),
            "truncated at byte %d: the header (byte 16) declares a file of %d bytes"
                .formatted(LENGTH - 1, LENGTH)),
        raw(
            "one trailing byte",
            file -> Arrays.copyOf(file, LENGTH + 1),
            "trailing data: 1 bytes after byte " + LENGTH),
        raw(
            "a trailing page",
            file -> Arrays.copyOf(file, LENGTH + 4096),
            "trailing data: 4096 bytes"),
        raw("file size field 0", setU64(FILE_SIZE_OFFSET, 0), "trailing data: " + LENGTH),
        raw(
            "file size field -1",
            setU64(FILE_SIZE_OFFSET, -1),
            "declares a file of 18446744073709551615 bytes"),
        raw("file size field +1", setU64(FILE_SIZE_OFFSET, LENGTH + 1), "truncated at byte"),
        raw(
            "file size field -1 byte",
            setU64(FILE_SIZE_OFFSET, LENGTH - 1),
            "trailing data: 1 bytes"),
        raw(
            "file size field and file both one byte shorter",
            file -> setU64(FILE_SIZE_OFFSET, LENGTH - 1).apply(truncate(LENGTH - 1).apply(file)),
            "header checksum mismatch"),
        // Sizes bounded before anything is read or allocated for them.
        raw(
            "function table size 4 GiB",
            setU32(FUNCTION_TABLE_SIZE_OFFSET, -1),
            "function table size 4294967295 at byte 28 exceeds the largest possible table"),
        raw(
            "function table size beyond the file",
            setU32(FUNCTION_TABLE_SIZE_OFFSET, 70_000),
            "truncated at byte " + LENGTH),
        raw(
            "bitmap of a 16 GiB memory in a small file",
            setU32(BITMAP_PAGES_OFFSET, 4L << 20),
            "truncated at byte " + LENGTH),
        raw(
            "bitmap beyond 16 GiB",
            setU32(BITMAP_PAGES_OFFSET, -1),
            "page bitmap size 4294967295 pages at byte 32 exceeds the pages of a 16 GiB memory"),
        // One-byte changes, caught by the checksums.
        raw("flip in flags", flip(FLAGS_OFFSET), "header checksum mismatch"),
        raw("flip in cpl", flip(CPL_OFFSET), "header checksum mismatch"),
        raw("flip in the backend name", flip(BACKEND_OFFSET + 1), "header checksum mismatch"),
        raw("flip in the plan", flip(PLAN_OFFSET + 3), "header checksum mismatch"),
        raw("flip in a register", flip(REGISTERS_OFFSET + 17), "header checksum mismatch"),
        raw("flip in a segment", flip(SEGMENTS_OFFSET + 30), "header checksum mismatch"),
        raw("flip in the FPU state", flip(FPU_OFFSET + 200), "header checksum mismatch"),
        raw("flip in the function table", flip(FIXED_SIZE + 3), "header checksum mismatch"),
        raw("flip in the bitmap", flip(BITMAP_AT + 7), "header checksum mismatch"),
        raw(
            "flip in the header checksum",
            flip(HEADER_CRC_AT),
            "header checksum mismatch at byte " + HEADER_CRC_AT),
        raw(
            "flip in the padding",
            flip(HEADER_CRC_AT + 10),
            "checksum mismatch at byte %d (stored".formatted(FILE_CRC_AT)),
        raw(
            "flip in the first page",
            flip((int) PAGE + 5),
            "checksum mismatch at byte " + FILE_CRC_AT),
        raw(
            "flip in the last page",
            flip(FILE_CRC_AT - 1),
            "checksum mismatch at byte " + FILE_CRC_AT),
        raw(
            "flip in the file checksum",
            flip(FILE_CRC_AT + 2),
            "checksum mismatch at byte %d (stored".formatted(FILE_CRC_AT)),
        // Header fields, checksums made right.
        sealed(
            "unknown flag",
            p -> p.u32(FLAGS_OFFSET, 3),
            "flags 0x3 at byte 12 has unknown bits 0x2"),
        sealed("high flag", p -> p.u32(FLAGS_OFFSET, 0x8000_0001L), "has unknown bits 0x80000000"),
        sealed(
            "FPU flag clear, FPU state there",
            p -> p.u32(FLAGS_OFFSET, 0),
            "FPU area (the flags say no FPU state is stored): reserved byte"),
        sealed(
            "FPU reserved byte",
            p -> p.u8(FPU_OFFSET + FPU_RESERVED1, 1),
            "FPU state: reserved byte " + (FPU_OFFSET + FPU_RESERVED1)),
        sealed(
            "FPU reserved word",
            p -> p.u8(FPU_OFFSET + FPU_RESERVED2 + 3, 1),
            "FPU state: reserved byte " + (FPU_OFFSET + FPU_RESERVED2 + 3)),
        sealed(
            "ABI major 2",
            p -> p.u32(ABI_MAJOR_OFFSET, 2),
            "guest ABI major version 2 at byte 40 differs from this Glint's version 1"),
        sealed("ABI major 0", p -> p.u32(ABI_MAJOR_OFFSET, 0), "guest ABI major version 0"),
        sealed("cpl 2", p -> p.u32(CPL_OFFSET, 2), "cpl 2 must be 0 or 3 (byte 44)"),
        sealed("cpl 1", p -> p.u32(CPL_OFFSET, 1), "cpl 1 must be 0 or 3"),
        sealed("cpl -1", p -> p.u32(CPL_OFFSET, -1), "cpl 4294967295 must be 0 or 3"),
        sealed(
            "backend length 0",
            p -> p.u32(BACKEND_LENGTH_OFFSET, 0),
            "backend name length 0 at byte 48 must be 1..64"),
        sealed(
            "backend length 65",
            p -> p.u32(BACKEND_LENGTH_OFFSET, 65),
            "backend name length 65 at byte 48"),
        sealed(
            "backend length 4 GiB",
            p -> p.u32(BACKEND_LENGTH_OFFSET, -1),
            "backend name length 4294967295"),
        sealed(
            "backend control character",
            p -> p.u8(BACKEND_OFFSET + 1, 7),
            "backend name byte 1 is 0x07; a backend name is printable ASCII"),
        sealed(
            "backend non-ASCII byte",
            p -> p.u8(BACKEND_OFFSET, 0xC3),
            "backend name byte 0 is 0xc3"),
        sealed(
            "backend length cut, name padding not zero",
            p -> p.u32(BACKEND_LENGTH_OFFSET, 2),
            "backend name padding: reserved byte " + (BACKEND_OFFSET + 2)),
        sealed(
            "backend padding",
            p -> p.u8(BACKEND_OFFSET + 63, 'x'),
            "backend name padding: reserved byte " + (BACKEND_OFFSET + 63)),
        sealed(
            "reserved header field", p -> p.u32(RESERVED_OFFSET, 1), "reserved field at byte 52"),
        // The memory plan.
        sealed(
            "memory size 123",
            p -> p.u64(plan(0), 123),
            "memory plan at byte 120: memory size 123 is not a multiple of 2 MiB"),
        sealed(
            "memory size off by a page",
            p -> p.u64(plan(0), 4 * mib + PAGE),
            "memory size 4198400 is not a multiple of 2 MiB"),
        sealed(
            "memory size 2 MiB",
            p -> p.u64(plan(0), 2 * mib),
            "memory size 2097152 is outside the Sandbox builder's range 4 MiB..16 GiB"),
        sealed(
            "memory size 32 GiB",
            p -> p.u64(plan(0), 32L << 30),
            "memory size 34359738368 is outside"),
        sealed(
            "memory size negative",
            p -> p.u64(plan(0), Long.MIN_VALUE),
            "memory size -9223372036854775808 is outside"),
        sealed(
            "memory size 16 GiB, the rest of the plan unchanged",
            p -> p.u64(plan(0), 16L << 30),
            "memory plan field guardPageAddress is 0x5fb000, but its sizes and image end give"
                + " 0x3ffffb000 (plan mismatch)"),
        sealed(
            "heap size huge",
            p -> p.u64(plan(3), Long.MAX_VALUE),
            "heap size 9223372036854775807 is outside the Sandbox builder's range"),
        sealed(
            "heap size not page-aligned",
            p -> p.u64(plan(3), p.getU64(plan(3)) + 1),
            "heap size 65537 is not a multiple of 4 KiB"),
        sealed("input size 0", p -> p.u64(plan(5), 0), "input buffer size 0 is outside"),
        sealed(
            "output size 2 GiB",
            p -> p.u64(plan(7), 2L << 30),
            "output buffer size 2147483648 is outside"),
        sealed("stack size 8 KiB", p -> p.u64(plan(10), 8192), "stack size 8192 is outside"),
        sealed(
            "image end not page-aligned",
            p -> p.u64(plan(1), p.getU64(plan(1)) + 1),
            "image end 0x202001 must be a page-aligned address"),
        sealed("image end 0", p -> p.u64(plan(1), 0), "image end 0x0 must be"),
        sealed("image end beyond memory", p -> p.u64(plan(1), 8 * mib), "image end 0x800000"),
        sealed(
            "heap 1 GiB in 4 MiB",
            p -> p.u64(plan(3), 1L << 30),
            "memory size 6291456 (0x600000) is too small for this guest"),
        sealed(
            "heap address moved",
            p -> p.u64(plan(2), p.getU64(plan(2)) + PAGE),
            "memory plan field heapAddress is 0x401000, but its sizes and image end give"
                + " 0x400000 (plan mismatch)"),
        sealed(
            "guard page moved",
            p -> p.u64(plan(8), p.getU64(plan(8)) - PAGE),
            "memory plan field guardPageAddress"),
        sealed("stack moved", p -> p.u64(plan(9), 0), "memory plan field stackAddress"),
        // Registers.
        sealed(
            "rflags bit 1 clear",
            p -> p.u64(REGISTERS_OFFSET + 8 * 17, 0),
            "rflags 0x0 at byte 344 lacks bit 1"),
        sealed(
            "cs type 16",
            p -> p.u8(segment(0, SEGMENT_TYPE), 16),
            "segment cs: type 16 at byte " + segment(0, SEGMENT_TYPE) + " must be 0..15"),
        sealed(
            "ss DPL 4",
            p -> p.u8(segment(5, SEGMENT_DPL), 4),
            "segment ss: DPL 4 at byte " + segment(5, SEGMENT_DPL)),
        sealed(
            "tr unknown attribute",
            p -> p.u8(segment(6, SEGMENT_ATTRIBUTES), 0x40),
            "segment tr: attributes 0x40 at byte %d have unknown bits 0x40"
                .formatted(segment(6, SEGMENT_ATTRIBUTES))),
        sealed(
            "ldt reserved byte",
            p -> p.u8(segment(7, 23), 1),
            "segment ldt: reserved byte " + segment(7, 23)),
        sealed(
            "gdt reserved byte",
            p -> p.u8(GDT_OFFSET + 10, 1),
            "gdt: reserved byte " + (GDT_OFFSET + 10)),
        sealed(
            "idt reserved byte",
            p -> p.u8(IDT_OFFSET + 15, 1),
            "idt: reserved byte " + (IDT_OFFSET + 15)),
        // The function table: Add(i32,i32)->i32 at 0, Hash(bytes)->bytes at 9, Ping()->void at 18,
        // Name(u64,bool)->string at 26; 36 bytes.
        sealed(
            "function count one more",
            p -> p.u32(FUNCTION_COUNT_OFFSET, 5),
            "function 4 runs past the function table's end at byte 1084"),
        sealed(
            "function count one less",
            p -> p.u32(FUNCTION_COUNT_OFFSET, 3),
            "function table has 10 bytes left at byte 1074 after its last function"),
        sealed(
            "function count 257",
            p -> p.u32(FUNCTION_COUNT_OFFSET, 257),
            "function count 257 at byte 24 exceeds the limit of 256"),
        sealed(
            "function count 4 G",
            p -> p.u32(FUNCTION_COUNT_OFFSET, -1),
            "function count 4294967295 at byte 24"),
        sealed(
            "bytes after the last function",
            p -> p.table = Arrays.copyOf(p.table, p.table.length + 3),
            "function table has 3 bytes left at byte 1084"),
        sealed(
            "empty function table, count 4",
            p -> p.table = new byte[0],
            "function 0 runs past the function table's end at byte 1048"),
        sealed(
            "name length 0",
            tableU16(0, 0),
            "function 0: name length 0 at byte 1048 must be 1..255"),
        sealed("name length 256", tableU16(0, 256), "function 0: name length 256 at byte 1048"),
        sealed("name length 65535", tableU16(0, 0xFFFF), "name length 65535"),
        sealed(
            "name past the table's end",
            tableU16(26, 200),
            "function 3 runs past the function table's end at byte 1084"),
        sealed(
            "name with NUL",
            table(3, 0),
            "function 0 at byte 1050: name contains a NUL byte at name offset 1"),
        sealed(
            "name with 0xFF",
            table(2, 0xFF),
            "function 0 at byte 1050: name is not well-formed UTF-8"),
        sealed(
            "name with an overlong encoding",
            p -> {
              p.table[11] = (byte) 0xC1;
              p.table[12] = (byte) 0x81;
            },
            "function 1 at byte 1059: name is not well-formed UTF-8"),
        sealed(
            "name with an encoded surrogate",
            p -> {
              p.table[11] = (byte) 0xED;
              p.table[12] = (byte) 0xA0;
              p.table[13] = (byte) 0x80;
            },
            "function 1 at byte 1059: name is not well-formed UTF-8"),
        sealed(
            "name with a cut sequence",
            table(31, 0xE2),
            "function 3 at byte 1076: name is not well-formed UTF-8"),
        sealed(
            "duplicate name",
            p -> System.arraycopy("Hash".getBytes(), 0, p.table, 20, 4),
            "function 2 at byte 1068: the name 'Hash' is listed twice"),
        sealed(
            "return tag 10",
            table(5, 10),
            "function 0 ('Add'): return type tag 10 at byte 1053 is unknown"),
        sealed(
            "parameter count 17",
            table(6, 17),
            "function 0 ('Add'): parameter count 17 at byte 1054"),
        sealed(
            "parameter count past the end",
            table(33, 5),
            "function 3 runs past the function table's end"),
        sealed(
            "void parameter",
            table(7, 0),
            "function 0 ('Add'): parameter 0 type tag 0 at byte 1055 must be 1..9"),
        sealed("parameter tag 200", table(8, 200), "parameter 1 type tag 200 at byte 1056"),
        // The page bitmap and the pages.
        sealed(
            "bitmap claims pages beyond memory",
            p -> {
              p.u32(BITMAP_PAGES_OFFSET, 1544);
              p.bitmap = Arrays.copyOf(p.bitmap, p.bitmap.length + 1);
              p.bitmap[p.bitmap.length - 1] = 1;
              p.u32(STORED_PAGES_OFFSET, p.getU32(STORED_PAGES_OFFSET) + 1);
              p.pages = Arrays.copyOf(p.pages, p.pages.length + (int) PAGE);
              p.pages[p.pages.length - 1] = 1;
            },
            "page bitmap (byte 32) covers 1544 pages, but memory holds 1536 pages (6291456 bytes)"),
        sealed(
            "bitmap of no pages",
            p -> {
              p.u32(BITMAP_PAGES_OFFSET, 0);
              p.bitmap = new byte[0];
              p.u32(STORED_PAGES_OFFSET, 0);
              p.pages = new byte[0];
            },
            "page bitmap (byte 32) covers 0 pages, but memory holds 1536 pages"),
        sealed(
            "bitmap marks one page more than stored",
            p -> p.bitmap[clearBit(p) / 8] |= (byte) (1 << (clearBit(p) % 8)),
            "page count mismatch: the header (byte 36) says 5 pages are stored, the page bitmap"
                + " (byte 1084) marks 6"),
        sealed(
            "stored page count one more",
            p -> p.u32(STORED_PAGES_OFFSET, 6),
            "page count mismatch: the header (byte 36) says 6 pages are stored"),
        sealed(
            "stored page count 4 G",
            p -> p.u32(STORED_PAGES_OFFSET, -1),
            "says 4294967295 pages are stored"),
        sealed(
            "bitmap and count one more, no page data",
            p -> {
              p.bitmap[clearBit(p) / 8] |= (byte) (1 << (clearBit(p) % 8));
              p.u32(STORED_PAGES_OFFSET, 6);
            },
            "file size mismatch: the header (byte 16) declares %d bytes, but its tables and 6"
                    .formatted(LENGTH)
                + " stored pages make "
                + (LENGTH + PAGE)),
        sealed(
            "a page of data too many",
            p -> p.pages = Arrays.copyOf(p.pages, p.pages.length + (int) PAGE),
            "file size mismatch"),
        sealed(
            "padding not zero",
            p -> p.padding[10] = 1,
            "padding byte %d is 0x01; padding is zero".formatted(HEADER_CRC_AT + 4 + 10)),
        sealed(
            "a stored page of zeros",
            p -> Arrays.fill(p.pages, 0, (int) PAGE, (byte) 0),
            "stored page 0 at byte 4096 (guest address 0x"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corruptFiles")
  void refusesCorruptFile(String name, UnaryOperator<byte[]> mutation, String fragment)
      throws IOException {
    byte[] corrupt = mutation.apply(VALID);
    assertRefused(fragment, corrupt);
    // The file path reports the same problem as the bytes, naming the file.
    Path file = directory.resolve("corrupt.snap");
    Files.write(file, corrupt);
    try (Arena arena = Arena.ofConfined()) {
      SnapshotFormatException e =
          assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(file, arena));
      assertTrue(e.getMessage().startsWith("snapshot file " + file + ": "), e.getMessage());
      assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
  }

  @Test
  void theValidFileReadsAndResealsToItself() throws IOException {
    assertArrayEquals(VALID, Parts.of(VALID).seal());
    try (Arena arena = Arena.ofConfined()) {
      SnapshotFile.read(VALID, arena);
    }
  }

  @Test
  void aValid16GiBEmptySnapshotIsRefusedAboveTheLimitBeforeAllocating() throws IOException {
    // A consistent file of ~520 KiB describing 16 GiB of zeros: the caller's limit is what stops
    // it, and a cut bitmap stops it at the size check.
    MemoryPlan huge =
        MemoryPlan.of(
            new LayoutSizes(16L << 30, 64L << 10, 16L << 10, 4096, 4096),
            SnapshotSamples.IMAGE_END);
    Parts parts = Parts.of(VALID);
    long[] fields = SnapshotRules.planFields(huge);
    for (int i = 0; i < fields.length; i++) {
      parts.u64(plan(i), fields[i]);
    }
    parts.u32(BITMAP_PAGES_OFFSET, 4L << 20);
    parts.bitmap = new byte[512 << 10];
    parts.u32(STORED_PAGES_OFFSET, 0);
    parts.pages = new byte[0];
    byte[] file = parts.seal();
    assertTrue(file.length < 600 << 10);
    try (Arena arena = Arena.ofConfined()) {
      SnapshotFormatException e =
          assertThrows(
              SnapshotFormatException.class,
              () -> SnapshotFile.read(MemorySegment.ofArray(file), "huge", arena, 1L << 30));
      assertTrue(
          e.getMessage()
              .equals(
                  "snapshot huge: memory size 17179869184 exceeds the limit of 1073741824 bytes"
                      + " this read allows"),
          e.getMessage());
    }
    assertRefused("truncated at byte", Arrays.copyOf(file, file.length - 300_000));
  }

  @Test
  void everyOneByteFlipIsRefused() {
    Random random = new Random(20_240_601);
    int headerEnd = HEADER_CRC_AT + 4;
    for (int i = 0; i < 4000; i++) {
      // Half anywhere, half in the header, where the parsing is.
      int at = i % 2 == 0 ? random.nextInt(LENGTH) : random.nextInt(headerEnd);
      byte[] corrupt = VALID.clone();
      corrupt[at] ^= (byte) (1 + random.nextInt(255));
      assertRefused("", corrupt);
    }
  }

  @Test
  void randomEditsBehindRightChecksumsGiveNoOtherException() throws IOException {
    // The checksums stop random damage before the field checks see it; here they are made right
    // after the edit, so the field checks alone must stand: a file either reads or is refused
    // with a SnapshotFormatException, never anything else.
    Random random = new Random(99);
    int refused = 0;
    for (int i = 0; i < 2000; i++) {
      Parts parts = Parts.of(VALID);
      for (int edits = 1 + random.nextInt(3); edits > 0; edits--) {
        byte[] region =
            switch (random.nextInt(4)) {
              case 0, 1 -> parts.fixed;
              case 2 -> parts.table;
              default -> parts.bitmap;
            };
        region[random.nextInt(region.length)] = (byte) random.nextInt(256);
      }
      byte[] file = parts.seal();
      try (Arena arena = Arena.ofConfined()) {
        SnapshotFile.read(file, arena);
      } catch (SnapshotFormatException e) {
        refused++;
      }
    }
    assertTrue(refused > 1000, "refused " + refused);
  }

  @Test
  void everyTruncationIsRefused() {
    Random random = new Random(7);
    for (int i = 0; i < 300; i++) {
      assertRefused("truncated at byte", Arrays.copyOf(VALID, random.nextInt(LENGTH)));
    }
  }

  private static void assertRefused(String fragment, byte[] corrupt) {
    try (Arena arena = Arena.ofConfined()) {
      SnapshotFormatException e =
          assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(corrupt, arena));
      assertTrue(e.getMessage().contains(fragment), e.getMessage());
      assertTrue(e.getMessage().startsWith("snapshot of " + corrupt.length + " bytes: "));
    }
  }
}
