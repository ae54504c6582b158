package dev.glint.sandbox.internal.snapshot;

import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ABI_MAJOR_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_ALL;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_DEFAULT_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_GRANULARITY;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_LONG_MODE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_PRESENT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_SYSTEM;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_UNUSABLE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_FIELD_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_LENGTH_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BITMAP_PAGES_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.CONTROL_COUNT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.CONTROL_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.CPL_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FILE_SIZE_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FIXED_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FLAGS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FLAG_FPU;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FORMAT_VERSION;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FCW;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FDP;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FIP;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FOP;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FSW;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_FTW;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_MXCSR;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_RESERVED1;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_RESERVED2;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_X87;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_XMM;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_COUNT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_TABLE_SIZE_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.GDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.IDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.MAGIC;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.MAX_FUNCTION_TABLE_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.MAX_PAGES;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PAGE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PLAN_FIELDS;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PLAN_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.REGISTERS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.REGISTER_COUNT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.RESERVED_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENTS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_ATTRIBUTES;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_BASE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_COUNT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_DPL;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_LIMIT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_RESERVED;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_SELECTOR;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_TYPE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.STORED_PAGES_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.TABLE_LIMIT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.TABLE_RESERVED;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.TABLE_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U16;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U32;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U64;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.VERSION_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.bitmapBytes;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.pageAlign;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.FpuState;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireType;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Decodes one snapshot in format version 1, checking every byte. The file is hostile input, read in
 * this order so that nothing is trusted before a checksum covers it and nothing is allocated for a
 * size before that size is bounded:
 *
 * <ol>
 *   <li>magic, format version, and the declared file size against the real one;
 *   <li>the function table and bitmap sizes against their largest possible values and the file;
 *   <li>the header, function table and bitmap (at most ~600 KiB), read into a private array and
 *       checked against the header CRC32C; from here on the header is trusted not to be corrupt,
 *       and its every field is checked against the format's rules;
 *   <li>guest memory allocated, stored pages read straight into it, and the whole file checked
 *       against the trailing CRC32C.
 * </ol>
 *
 * <p>Every byte is read exactly once into memory this reader owns and checked there, so a file that
 * changes while it is read cannot slip a byte past the checksums. Not thread-safe; one per read.
 */
final class SnapshotReader {
  /** Where the bytes come from: a file channel or a segment. */
  interface Source {
    /** {@return the number of bytes the source holds} */
    long size() throws IOException;

    /**
     * Fills {@code target} with the bytes from {@code position}, which the caller has checked lie
     * within {@link #size()}.
     *
     * @throws EOFException if the bytes are not there after all (the file shrank); its message is
     *     the offset where they end
     */
    void read(long position, MemorySegment target) throws IOException;
  }

  private final Source source;
  private final String label;
  private final long maxMemorySize;

  /**
   * Creates a reader.
   *
   * @param source the bytes
   * @param label how messages name the source, such as "snapshot file /tmp/a.snap"
   * @param maxMemorySize the largest guest memory to allocate
   */
  SnapshotReader(Source source, String label, long maxMemorySize) {
    this.source = source;
    this.label = label;
    this.maxMemorySize = maxMemorySize;
  }

  /** {@return a source reading {@code channel} with positional reads} */
  static Source of(FileChannel channel) {
    return new Source() {
      @Override
      public long size() throws IOException {
        return channel.size();
      }

      @Override
      public void read(long position, MemorySegment target) throws IOException {
        ByteBuffer buffer = target.asByteBuffer();
        while (buffer.hasRemaining()) {
          long at = position + buffer.position();
          if (channel.read(buffer, at) < 0) {
            throw new EOFException(Long.toString(at));
          }
        }
      }
    };
  }

  /** {@return a source over the bytes of {@code bytes}} */
  static Source of(MemorySegment bytes) {
    return new Source() {
      @Override
      public long size() {
        return bytes.byteSize();
      }

      @Override
      public void read(long position, MemorySegment target) throws EOFException {
        if (position < 0 || position > bytes.byteSize() - target.byteSize()) {
          throw new EOFException(Long.toString(bytes.byteSize()));
        }
        MemorySegment.copy(bytes, position, target, 0, target.byteSize());
      }
    };
  }

  /**
   * The header as read, its checksum checked: the fixed header, then the function table, bitmap and
   * header checksum.
   *
   * @param fixed the fixed header's bytes
   * @param variable the function table, the bitmap and the header checksum
   * @param declaredSize the file size the header declares, equal to the real one
   * @param tableSize the function table's size
   * @param bitmapPages the pages the bitmap covers
   */
  private record RawHeader(
      byte[] fixed, byte[] variable, long declaredSize, int tableSize, long bitmapPages) {
    long end() {
      return FIXED_SIZE + variable.length;
    }
  }

  /**
   * Reads and checks the whole snapshot.
   *
   * @param arena where the guest memory is allocated (page-aligned); if the read fails after the
   *     header checked out, that memory stays allocated until the arena closes
   * @throws SnapshotFormatException if any byte breaks the format
   * @throws IOException if reading the source fails
   */
  SnapshotContents read(Arena arena) throws IOException {
    RawHeader raw = readHeader();

    // The header is as written; now check that what was written is a snapshot this Glint loads.
    MemorySegment f = MemorySegment.ofArray(raw.fixed());
    boolean hasFpu = flags(f);
    long abiMajor = u32(f, ABI_MAJOR_OFFSET);
    if (abiMajor != MemoryInitializer.ABI_MAJOR) {
      throw error(
          "guest ABI major version %d at byte %d differs from this Glint's version %d; the guest"
              + " memory was laid out for another ABI",
          abiMajor, ABI_MAJOR_OFFSET, MemoryInitializer.ABI_MAJOR);
    }
    long cpl = u32(f, CPL_OFFSET);
    String cplProblem = SnapshotRules.cplProblem(cpl);
    if (cplProblem != null) {
      throw error("%s (byte %d)", cplProblem, CPL_OFFSET);
    }
    String backend = backend(f);
    if (u32(f, RESERVED_OFFSET) != 0) {
      throw error("reserved field at byte %d is not zero", RESERVED_OFFSET);
    }
    MemoryPlan plan = plan(f);
    Registers registers = registers(f);
    SpecialRegisters specialRegisters = specialRegisters(f);
    Optional<FpuState> fpu = hasFpu ? Optional.of(fpu(f)) : noFpu(f);
    List<FunctionSignature> functions =
        functions(f, MemorySegment.ofArray(raw.variable()), raw.tableSize());
    BitSet present = bitmap(raw, plan);

    MemorySegment memory = readMemory(raw, present, plan, arena);
    try {
      return new SnapshotContents(
          backend,
          (int) abiMajor,
          (int) cpl,
          plan,
          functions,
          registers,
          specialRegisters,
          fpu,
          memory);
    } catch (IllegalArgumentException e) {
      // Every rule is checked above with its place in the file; this only guards the contract
      // that a bad file gives a SnapshotFormatException.
      throw error("%s", e.getMessage());
    }
  }

  /**
   * Reads the header, function table and bitmap into private arrays after bounding their sizes by
   * the format's limits and the file's size, and checks the header checksum.
   */
  private RawHeader readHeader() throws IOException {
    long size = source.size();
    if (size < MAGIC.length) {
      throw error("truncated at byte %d: a snapshot starts with the 8-byte magic", size);
    }
    byte[] fixed = new byte[(int) Math.min(size, FIXED_SIZE)];
    read(0, MemorySegment.ofArray(fixed));
    MemorySegment f = MemorySegment.ofArray(fixed);
    if (MemorySegment.mismatch(f, 0, MAGIC.length, MemorySegment.ofArray(MAGIC), 0, MAGIC.length)
        >= 0) {
      throw error(
          "not a Glint snapshot: the magic at byte 0 is %s, expected %s (\"GLINTSNP\")",
          HexFormat.of().formatHex(fixed, 0, MAGIC.length), HexFormat.of().formatHex(MAGIC));
    }
    if (size < VERSION_OFFSET + 4) {
      throw error(
          "truncated at byte %d: the format version at byte %d is cut off", size, VERSION_OFFSET);
    }
    // The version before anything else: another version may lay out everything after it anew.
    long version = u32(f, VERSION_OFFSET);
    if (version != FORMAT_VERSION) {
      throw error(
          "unsupported format version %d (this Glint reads version %d)", version, FORMAT_VERSION);
    }
    if (size < FIXED_SIZE) {
      throw error("truncated at byte %d: the fixed header needs %d bytes", size, FIXED_SIZE);
    }
    long declared = f.get(U64, FILE_SIZE_OFFSET);
    if (declared < 0 || declared > size) {
      throw error(
          "truncated at byte %d: the header (byte %d) declares a file of %s bytes",
          size, FILE_SIZE_OFFSET, Long.toUnsignedString(declared));
    }
    if (declared < size) {
      throw error(
          "trailing data: %d bytes after byte %d, the end the header (byte %d) declares",
          size - declared, declared, FILE_SIZE_OFFSET);
    }
    long tableSize = u32(f, FUNCTION_TABLE_SIZE_OFFSET);
    if (tableSize > MAX_FUNCTION_TABLE_SIZE) {
      throw error(
          "function table size %d at byte %d exceeds the largest possible table (%d bytes)",
          tableSize, FUNCTION_TABLE_SIZE_OFFSET, MAX_FUNCTION_TABLE_SIZE);
    }
    long bitmapPages = u32(f, BITMAP_PAGES_OFFSET);
    if (bitmapPages > MAX_PAGES) {
      throw error(
          "page bitmap size %d pages at byte %d exceeds the pages of a 16 GiB memory (%d)",
          bitmapPages, BITMAP_PAGES_OFFSET, MAX_PAGES);
    }
    long headerCrcOffset = FIXED_SIZE + tableSize + bitmapBytes(bitmapPages);
    long headerEnd = headerCrcOffset + 4;
    if (headerEnd + 4 > size) {
      throw error(
          "truncated at byte %d: the function table (%d bytes), page bitmap (%d pages) and"
              + " header checksum end at byte %d, and the file checksum needs 4 more bytes",
          size, tableSize, bitmapPages, headerEnd);
    }
    // Bounded above: at most 70 KiB of table and 512 KiB of bitmap.
    byte[] variable = new byte[(int) (headerEnd - FIXED_SIZE)];
    read(FIXED_SIZE, MemorySegment.ofArray(variable));
    CRC32C crc = new CRC32C();
    crc.update(fixed);
    crc.update(variable, 0, variable.length - 4);
    long stored = u32(MemorySegment.ofArray(variable), variable.length - 4);
    if (stored != crc.getValue()) {
      throw error(
          "header checksum mismatch at byte %d (stored 0x%08x, computed 0x%08x): the file is"
              + " corrupt",
          headerCrcOffset, stored, crc.getValue());
    }
    return new RawHeader(fixed, variable, declared, (int) tableSize, bitmapPages);
  }

  /**
   * {@return the page bitmap}, after checking it against the memory size, the stored page count
   * and, through those, the file size
   */
  private BitSet bitmap(RawHeader raw, MemoryPlan plan) throws SnapshotFormatException {
    long pages = plan.memorySize() / PAGE;
    if (raw.bitmapPages() != pages) {
      throw error(
          "page bitmap (byte %d) covers %d pages, but memory holds %d pages (%d bytes)",
          BITMAP_PAGES_OFFSET, raw.bitmapPages(), pages, plan.memorySize());
    }
    // Memory sizes are multiples of 2 MiB, so the bitmap has no bits beyond the last page.
    BitSet present =
        BitSet.valueOf(ByteBuffer.wrap(raw.variable(), raw.tableSize(), (int) bitmapBytes(pages)));
    long stored = u32(MemorySegment.ofArray(raw.fixed()), STORED_PAGES_OFFSET);
    if (present.cardinality() != stored) {
      throw error(
          "page count mismatch: the header (byte %d) says %d pages are stored, the page bitmap"
              + " (byte %d) marks %d",
          STORED_PAGES_OFFSET, stored, FIXED_SIZE + raw.tableSize(), present.cardinality());
    }
    long expected = pageAlign(raw.end()) + stored * PAGE + 4;
    if (expected != raw.declaredSize()) {
      throw error(
          "file size mismatch: the header (byte %d) declares %d bytes, but its tables and %d stored"
              + " pages make %d",
          FILE_SIZE_OFFSET, raw.declaredSize(), stored, expected);
    }
    return present;
  }

  /**
   * Allocates the guest memory, reads the stored pages into it and checks the file checksum, the
   * padding and that no stored page is all zero.
   */
  private MemorySegment readMemory(RawHeader raw, BitSet present, MemoryPlan plan, Arena arena)
      throws IOException {
    if (plan.memorySize() > maxMemorySize) {
      throw error(
          "memory size %d exceeds the limit of %d bytes this read allows",
          plan.memorySize(), maxMemorySize);
    }
    CRC32C crc = new CRC32C();
    crc.update(raw.fixed());
    crc.update(raw.variable());
    long pagesOffset = pageAlign(raw.end());
    byte[] padding = new byte[(int) (pagesOffset - raw.end())];
    read(raw.end(), MemorySegment.ofArray(padding));
    crc.update(padding);
    MemorySegment memory = arena.allocate(plan.memorySize(), PAGE);
    long fileAt = pagesOffset;
    for (int first = present.nextSetBit(0); first >= 0; ) {
      int end = present.nextClearBit(first);
      // A run of stored pages is contiguous both in the file and in memory: one read per chunk.
      for (long at = first * PAGE; at < end * PAGE; at += SnapshotWriter.CHUNK) {
        MemorySegment chunk = memory.asSlice(at, Math.min(SnapshotWriter.CHUNK, end * PAGE - at));
        read(fileAt, chunk);
        crc.update(chunk.asByteBuffer());
        fileAt += chunk.byteSize();
      }
      first = present.nextSetBit(end);
    }
    byte[] tail = new byte[4];
    read(fileAt, MemorySegment.ofArray(tail));
    long stored = u32(MemorySegment.ofArray(tail), 0);
    if (stored != crc.getValue()) {
      throw error(
          "checksum mismatch at byte %d (stored 0x%08x, computed 0x%08x): the file is corrupt",
          fileAt, stored, crc.getValue());
    }

    for (int i = 0; i < padding.length; i++) {
      if (padding[i] != 0) {
        throw error("padding byte %d is 0x%02x; padding is zero", raw.end() + i, padding[i] & 0xFF);
      }
    }
    long index = 0;
    for (int page = present.nextSetBit(0); page >= 0; page = present.nextSetBit(page + 1)) {
      long at = page * PAGE;
      if (MemorySegment.mismatch(memory, at, at + PAGE, SnapshotWriter.ZERO_PAGE, 0, PAGE) < 0) {
        throw error(
            "stored page %d at byte %d (guest address 0x%x) is all zero; zero pages are never"
                + " stored",
            index, pagesOffset + index * PAGE, at);
      }
      index++;
    }
    return memory;
  }

  private boolean flags(MemorySegment f) throws SnapshotFormatException {
    long flags = u32(f, FLAGS_OFFSET);
    if ((flags & ~FLAG_FPU) != 0) {
      throw error(
          "flags 0x%x at byte %d has unknown bits 0x%x (only bit 0, FPU state present, is defined)",
          flags, FLAGS_OFFSET, flags & ~FLAG_FPU);
    }
    return flags == FLAG_FPU;
  }

  private String backend(MemorySegment f) throws SnapshotFormatException {
    long length = u32(f, BACKEND_LENGTH_OFFSET);
    if (length < 1 || length > SnapshotRules.MAX_BACKEND_LENGTH) {
      throw error(
          "backend name length %d at byte %d must be 1..%d",
          length, BACKEND_LENGTH_OFFSET, SnapshotRules.MAX_BACKEND_LENGTH);
    }
    byte[] name = f.asSlice(BACKEND_OFFSET, length).toArray(ValueLayout.JAVA_BYTE);
    String problem = SnapshotRules.backendProblem(name);
    if (problem != null) {
      throw error("%s (field at byte %d)", problem, BACKEND_OFFSET);
    }
    requireZero(f, BACKEND_OFFSET + length, BACKEND_FIELD_SIZE - length, "backend name padding");
    return new String(name, StandardCharsets.US_ASCII);
  }

  private MemoryPlan plan(MemorySegment f) throws SnapshotFormatException {
    long[] p = new long[PLAN_FIELDS];
    for (int i = 0; i < p.length; i++) {
      p[i] = f.get(U64, PLAN_OFFSET + 8L * i);
    }
    String problem = SnapshotRules.planProblem(p);
    if (problem != null) {
      throw error("memory plan at byte %d: %s", PLAN_OFFSET, problem);
    }
    return new MemoryPlan(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]);
  }

  private Registers registers(MemorySegment f) throws SnapshotFormatException {
    long[] r = new long[REGISTER_COUNT];
    for (int i = 0; i < r.length; i++) {
      r[i] = f.get(U64, REGISTERS_OFFSET + 8L * i);
    }
    long rflags = r[REGISTER_COUNT - 1];
    if ((rflags & Registers.RFLAGS_RESERVED) == 0) {
      throw error(
          "rflags 0x%x at byte %d lacks bit 1, which is always set on x86",
          rflags, REGISTERS_OFFSET + 8 * (REGISTER_COUNT - 1));
    }
    return Registers.fromArray(r);
  }

  private static final List<String> SEGMENT_NAMES =
      List.of("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt");

  private SpecialRegisters specialRegisters(MemorySegment f) throws SnapshotFormatException {
    Segment[] s = new Segment[SEGMENT_COUNT];
    for (int i = 0; i < s.length; i++) {
      s[i] = segment(f, SEGMENTS_OFFSET + SEGMENT_SIZE * i, SEGMENT_NAMES.get(i));
    }
    DescriptorTable gdt = table(f, GDT_OFFSET, "gdt");
    DescriptorTable idt = table(f, IDT_OFFSET, "idt");
    long[] c = new long[CONTROL_COUNT];
    for (int i = 0; i < c.length; i++) {
      c[i] = f.get(U64, CONTROL_OFFSET + 8L * i);
    }
    return new SpecialRegisters(
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], gdt, idt, c[0], c[1], c[2], c[3], c[4],
        c[5], c[6]);
  }

  private Segment segment(MemorySegment f, int at, String name) throws SnapshotFormatException {
    int type = u8(f, at + SEGMENT_TYPE);
    if (type > 0xF) {
      throw error("segment %s: type %d at byte %d must be 0..15", name, type, at + SEGMENT_TYPE);
    }
    int dpl = u8(f, at + SEGMENT_DPL);
    if (dpl > 3) {
      throw error("segment %s: DPL %d at byte %d must be 0..3", name, dpl, at + SEGMENT_DPL);
    }
    int attributes = u8(f, at + SEGMENT_ATTRIBUTES);
    if ((attributes & ~ATTR_ALL) != 0) {
      throw error(
          "segment %s: attributes 0x%02x at byte %d have unknown bits 0x%02x",
          name, attributes, at + SEGMENT_ATTRIBUTES, attributes & ~ATTR_ALL);
    }
    requireZero(f, at + SEGMENT_RESERVED, SEGMENT_SIZE - SEGMENT_RESERVED, "segment " + name);
    return new Segment(
        f.get(U64, at + SEGMENT_BASE),
        u32(f, at + SEGMENT_LIMIT),
        Short.toUnsignedInt(f.get(U16, at + SEGMENT_SELECTOR)),
        type,
        (attributes & ATTR_PRESENT) != 0,
        dpl,
        (attributes & ATTR_DEFAULT_SIZE) != 0,
        (attributes & ATTR_SYSTEM) != 0,
        (attributes & ATTR_LONG_MODE) != 0,
        (attributes & ATTR_GRANULARITY) != 0,
        (attributes & ATTR_UNUSABLE) != 0);
  }

  private DescriptorTable table(MemorySegment f, int at, String name)
      throws SnapshotFormatException {
    requireZero(f, at + TABLE_RESERVED, TABLE_SIZE - TABLE_RESERVED, name);
    return new DescriptorTable(f.get(U64, at), Short.toUnsignedInt(f.get(U16, at + TABLE_LIMIT)));
  }

  private FpuState fpu(MemorySegment f) throws SnapshotFormatException {
    MemorySegment a = f.asSlice(FPU_OFFSET, FPU_SIZE);
    requireZero(f, FPU_OFFSET + FPU_RESERVED1, 1, "FPU state");
    requireZero(f, FPU_OFFSET + FPU_RESERVED2, 4, "FPU state");
    return new FpuState(
        a.asSlice(FPU_X87, FpuState.X87_BYTES).toArray(ValueLayout.JAVA_BYTE),
        Short.toUnsignedInt(a.get(U16, FPU_FCW)),
        Short.toUnsignedInt(a.get(U16, FPU_FSW)),
        u8(a, FPU_FTW),
        Short.toUnsignedInt(a.get(U16, FPU_FOP)),
        a.get(U64, FPU_FIP),
        a.get(U64, FPU_FDP),
        a.asSlice(FPU_XMM, FpuState.XMM_BYTES).toArray(ValueLayout.JAVA_BYTE),
        a.get(U32, FPU_MXCSR));
  }

  private Optional<FpuState> noFpu(MemorySegment f) throws SnapshotFormatException {
    requireZero(f, FPU_OFFSET, FPU_SIZE, "FPU area (the flags say no FPU state is stored)");
    return Optional.empty();
  }

  /**
   * Decodes the function table: per function a u16 name length, the name, a u8 return tag, a u8
   * parameter count and one u8 tag per parameter.
   */
  private List<FunctionSignature> functions(MemorySegment f, MemorySegment v, int tableSize)
      throws SnapshotFormatException {
    long count = u32(f, FUNCTION_COUNT_OFFSET);
    if (count > WireCodec.MAX_FUNCTIONS) {
      throw error(
          "function count %d at byte %d exceeds the limit of %d",
          count, FUNCTION_COUNT_OFFSET, WireCodec.MAX_FUNCTIONS);
    }
    List<FunctionSignature> functions = new ArrayList<>((int) count);
    Set<String> names = new HashSet<>();
    int at = 0;
    for (int i = 0; i < count; i++) {
      int start = at;
      at = need(at, 2, tableSize, i);
      int nameLength = Short.toUnsignedInt(v.get(U16, start));
      if (nameLength < 1 || nameLength > SnapshotRules.MAX_NAME_LENGTH) {
        throw error(
            "function %d: name length %d at byte %d must be 1..%d",
            i, nameLength, FIXED_SIZE + start, SnapshotRules.MAX_NAME_LENGTH);
      }
      int nameAt = at;
      at = need(at, nameLength, tableSize, i);
      byte[] nameBytes = v.asSlice(nameAt, nameLength).toArray(ValueLayout.JAVA_BYTE);
      String problem = SnapshotRules.nameBytesProblem(nameBytes);
      if (problem != null) {
        throw error("function %d at byte %d: %s", i, FIXED_SIZE + nameAt, problem);
      }
      String name;
      try {
        name = SnapshotRules.decoder(nameBytes);
      } catch (CharacterCodingException e) {
        throw new AssertionError("checked by nameBytesProblem", e);
      }
      if (!names.add(name)) {
        throw error(
            "function %d at byte %d: the name '%s' is listed twice; names are unique",
            i, FIXED_SIZE + nameAt, name);
      }
      int returnAt = at;
      at = need(at, 2, tableSize, i);
      int returnTag = u8(v, returnAt);
      if (returnTag > WireType.BYTES.tag()) {
        throw error(
            "function %d ('%s'): return type tag %d at byte %d is unknown (tags are 0..9)",
            i, name, returnTag, FIXED_SIZE + returnAt);
      }
      int parameterCount = u8(v, returnAt + 1);
      if (parameterCount > FunctionSignature.MAX_PARAMETERS) {
        throw error(
            "function %d ('%s'): parameter count %d at byte %d exceeds %d",
            i, name, parameterCount, FIXED_SIZE + returnAt + 1, FunctionSignature.MAX_PARAMETERS);
      }
      int parametersAt = at;
      at = need(at, parameterCount, tableSize, i);
      List<WireType> parameters = new ArrayList<>(parameterCount);
      for (int p = 0; p < parameterCount; p++) {
        int tag = u8(v, parametersAt + p);
        if (tag < 1 || tag > WireType.BYTES.tag()) {
          throw error(
              "function %d ('%s'): parameter %d type tag %d at byte %d must be 1..9",
              i, name, p, tag, FIXED_SIZE + parametersAt + p);
        }
        parameters.add(WireType.ofTag(tag));
      }
      functions.add(new FunctionSignature(name, WireType.ofTag(returnTag), parameters));
    }
    if (at != tableSize) {
      throw error(
          "function table has %d bytes left at byte %d after its last function (the header says"
              + " %d functions in %d bytes)",
          tableSize - at, FIXED_SIZE + at, count, tableSize);
    }
    return functions;
  }

  /** {@return {@code at + length}, after checking that it lies within the function table} */
  private int need(int at, int length, int tableSize, int function) throws SnapshotFormatException {
    if (length > tableSize - at) {
      throw error(
          "function %d runs past the function table's end at byte %d (the header says the table"
              + " is %d bytes)",
          function, FIXED_SIZE + tableSize, tableSize);
    }
    return at + length;
  }

  private void requireZero(MemorySegment f, long at, long length, String what)
      throws SnapshotFormatException {
    for (long i = at; i < at + length; i++) {
      if (f.get(ValueLayout.JAVA_BYTE, i) != 0) {
        throw error("%s: reserved byte %d is not zero", what, i);
      }
    }
  }

  /** Reads from the source, reporting a file that shrank since its size was taken. */
  private void read(long position, MemorySegment target) throws IOException {
    try {
      source.read(position, target);
    } catch (EOFException e) {
      throw error(
          "truncated at byte %s: the file ended while being read (it changed after it was opened)",
          e.getMessage());
    }
  }

  private static long u32(MemorySegment s, long at) {
    return Integer.toUnsignedLong(s.get(U32, at));
  }

  private static int u8(MemorySegment s, long at) {
    return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
  }

  private SnapshotFormatException error(String format, Object... args) {
    return new SnapshotFormatException(label + ": " + format.formatted(args));
  }
}
