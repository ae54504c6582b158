package dev.glint.sandbox.internal.snapshot;

import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ABI_MAJOR_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_DEFAULT_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_GRANULARITY;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_LONG_MODE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_PRESENT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_SYSTEM;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.ATTR_UNUSABLE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_LENGTH_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BACKEND_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.BITMAP_PAGES_OFFSET;
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
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_X87;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FPU_XMM;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_COUNT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.FUNCTION_TABLE_SIZE_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.GDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.IDT_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.MAGIC;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.MAGIC_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PAGE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.PLAN_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.REGISTERS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENTS_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_ATTRIBUTES;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_BASE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_DPL;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_LIMIT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_SELECTOR;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_SIZE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.SEGMENT_TYPE;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.STORED_PAGES_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.TABLE_LIMIT;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U16;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U32;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.U64;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.VERSION_OFFSET;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.bitmapBytes;
import static dev.glint.sandbox.internal.snapshot.SnapshotLayout.pageAlign;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.FpuState;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.zip.CRC32C;

/** Encodes a {@link SnapshotContents} in format version 1. Stateless. */
final class SnapshotWriter {
  private SnapshotWriter() {}

  /** A page of zeros to compare guest pages against. */
  static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[(int) PAGE]);

  /** The most bytes handed to one write or checksum update: keeps ByteBuffers int-sized. */
  static final long CHUNK = 64L << 20;

  /**
   * Writes {@code contents} to {@code out}.
   *
   * @return the number of bytes written
   */
  static long write(SnapshotContents contents, WritableByteChannel out) throws IOException {
    MemorySegment memory = contents.memory();
    long pages = memory.byteSize() / PAGE;
    BitSet present = nonZeroPages(memory, pages);
    long stored = present.cardinality();
    byte[] table = functionTable(contents);
    byte[] bitmap = Arrays.copyOf(present.toByteArray(), Math.toIntExact(bitmapBytes(pages)));
    long headerEnd = FIXED_SIZE + table.length + bitmap.length + 4L;
    long pagesOffset = pageAlign(headerEnd);
    long fileSize = pagesOffset + stored * PAGE + 4;

    // Everything before the pages, padding included, in one array: at most 70 KiB of function
    // table and 512 KiB of bitmap.
    byte[] head = new byte[Math.toIntExact(pagesOffset)];
    MemorySegment h = MemorySegment.ofArray(head);
    fixedHeader(h, contents, fileSize, table.length, pages, stored);
    System.arraycopy(table, 0, head, FIXED_SIZE, table.length);
    System.arraycopy(bitmap, 0, head, FIXED_SIZE + table.length, bitmap.length);
    CRC32C headerCrc = new CRC32C();
    headerCrc.update(head, 0, (int) headerEnd - 4);
    h.set(U32, headerEnd - 4, (int) headerCrc.getValue());

    CRC32C fileCrc = new CRC32C();
    fileCrc.update(head);
    writeFully(out, ByteBuffer.wrap(head));
    for (int first = present.nextSetBit(0); first >= 0; ) {
      int end = present.nextClearBit(first);
      // A run of stored pages is contiguous both in memory and in the file.
      for (long at = first * PAGE; at < end * PAGE; at += CHUNK) {
        MemorySegment chunk = memory.asSlice(at, Math.min(CHUNK, end * PAGE - at));
        fileCrc.update(chunk.asByteBuffer());
        writeFully(out, chunk.asByteBuffer());
      }
      first = present.nextSetBit(end);
    }
    ByteBuffer crc = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    crc.putInt((int) fileCrc.getValue()).flip();
    writeFully(out, crc);
    return fileSize;
  }

  /** {@return the pages of {@code memory} holding a non-zero byte} */
  static BitSet nonZeroPages(MemorySegment memory, long pages) {
    BitSet present = new BitSet(Math.toIntExact(pages));
    for (int page = 0; page < pages; page++) {
      long at = page * PAGE;
      // mismatch compares in wide vector steps; a per-byte loop over 256 MiB would take seconds.
      if (MemorySegment.mismatch(memory, at, at + PAGE, ZERO_PAGE, 0, PAGE) >= 0) {
        present.set(page);
      }
    }
    return present;
  }

  private static void fixedHeader(
      MemorySegment h,
      SnapshotContents contents,
      long fileSize,
      int tableSize,
      long pages,
      long stored) {
    MemorySegment.copy(MAGIC, 0, h, ValueLayout.JAVA_BYTE, MAGIC_OFFSET, MAGIC.length);
    h.set(U32, VERSION_OFFSET, FORMAT_VERSION);
    h.set(U32, FLAGS_OFFSET, contents.fpu().isPresent() ? FLAG_FPU : 0);
    h.set(U64, FILE_SIZE_OFFSET, fileSize);
    h.set(U32, FUNCTION_COUNT_OFFSET, contents.functions().size());
    h.set(U32, FUNCTION_TABLE_SIZE_OFFSET, tableSize);
    h.set(U32, BITMAP_PAGES_OFFSET, (int) pages);
    h.set(U32, STORED_PAGES_OFFSET, (int) stored);
    h.set(U32, ABI_MAJOR_OFFSET, contents.abiMajor());
    h.set(U32, CPL_OFFSET, contents.cpl());
    byte[] backend = contents.backend().getBytes(StandardCharsets.US_ASCII);
    h.set(U32, BACKEND_LENGTH_OFFSET, backend.length);
    MemorySegment.copy(backend, 0, h, ValueLayout.JAVA_BYTE, BACKEND_OFFSET, backend.length);
    long[] plan = SnapshotRules.planFields(contents.plan());
    for (int i = 0; i < plan.length; i++) {
      h.set(U64, PLAN_OFFSET + 8L * i, plan[i]);
    }
    long[] registers = contents.registers().toArray();
    for (int i = 0; i < registers.length; i++) {
      h.set(U64, REGISTERS_OFFSET + 8L * i, registers[i]);
    }
    SpecialRegisters s = contents.specialRegisters();
    Segment[] segments = {s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt()};
    for (int i = 0; i < segments.length; i++) {
      segment(h, SEGMENTS_OFFSET + (long) SEGMENT_SIZE * i, segments[i]);
    }
    table(h, GDT_OFFSET, s.gdt());
    table(h, IDT_OFFSET, s.idt());
    long[] control = {s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()};
    for (int i = 0; i < control.length; i++) {
      h.set(U64, CONTROL_OFFSET + 8L * i, control[i]);
    }
    contents.fpu().ifPresent(fpu -> fpu(h, fpu));
  }

  private static void segment(MemorySegment h, long at, Segment segment) {
    h.set(U64, at + SEGMENT_BASE, segment.base());
    h.set(U32, at + SEGMENT_LIMIT, (int) segment.limit());
    h.set(U16, at + SEGMENT_SELECTOR, (short) segment.selector());
    h.set(ValueLayout.JAVA_BYTE, at + SEGMENT_TYPE, (byte) segment.type());
    h.set(ValueLayout.JAVA_BYTE, at + SEGMENT_DPL, (byte) segment.dpl());
    int attributes =
        (segment.present() ? ATTR_PRESENT : 0)
            | (segment.defaultSize() ? ATTR_DEFAULT_SIZE : 0)
            | (segment.system() ? ATTR_SYSTEM : 0)
            | (segment.longMode() ? ATTR_LONG_MODE : 0)
            | (segment.granularity() ? ATTR_GRANULARITY : 0)
            | (segment.unusable() ? ATTR_UNUSABLE : 0);
    h.set(ValueLayout.JAVA_BYTE, at + SEGMENT_ATTRIBUTES, (byte) attributes);
  }

  private static void table(MemorySegment h, long at, DescriptorTable table) {
    h.set(U64, at, table.base());
    h.set(U16, at + TABLE_LIMIT, (short) table.limit());
  }

  private static void fpu(MemorySegment h, FpuState fpu) {
    long at = FPU_OFFSET;
    MemorySegment.copy(fpu.x87(), 0, h, ValueLayout.JAVA_BYTE, at + FPU_X87, FpuState.X87_BYTES);
    h.set(U16, at + FPU_FCW, (short) fpu.fcw());
    h.set(U16, at + FPU_FSW, (short) fpu.fsw());
    h.set(ValueLayout.JAVA_BYTE, at + FPU_FTW, (byte) fpu.ftw());
    h.set(U16, at + FPU_FOP, (short) fpu.lastOpcode());
    h.set(U64, at + FPU_FIP, fpu.lastInstructionPointer());
    h.set(U64, at + FPU_FDP, fpu.lastDataPointer());
    h.set(U32, at + FPU_MXCSR, fpu.mxcsr());
    MemorySegment.copy(fpu.xmm(), 0, h, ValueLayout.JAVA_BYTE, at + FPU_XMM, FpuState.XMM_BYTES);
  }

  /**
   * {@return the function table: per function a u16 name length, the name, a u8 return tag, a u8
   * parameter count, one u8 tag per parameter}
   */
  private static byte[] functionTable(SnapshotContents contents) {
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    for (FunctionSignature function : contents.functions()) {
      byte[] name = SnapshotRules.encodeName(function.name());
      table.write(name.length);
      table.write(name.length >>> 8);
      table.writeBytes(name);
      table.write(function.returnType().tag());
      table.write(function.parameters().size());
      for (WireType parameter : function.parameters()) {
        table.write(parameter.tag());
      }
    }
    return table.toByteArray();
  }

  private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }
}
