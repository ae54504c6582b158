package dev.glint.sandbox.internal.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds small ELF files for loader tests: by default a valid Glint guest with a code segment at
 * 0x200000 ({@code jmp $}) and a data segment at 0x201000. Each field can be overwritten after
 * building, to break one rule at a time.
 */
final class TestElf {
  static final int PHOFF = 64;

  record Phdr(int type, int flags, long offset, long vaddr, long filesz, long memsz) {}

  final List<Phdr> segments = new ArrayList<>();
  long entry = 0x200000;
  int fileSize = 0x2000;

  static TestElf valid() {
    TestElf elf = new TestElf();
    elf.segments.add(new Phdr(1, 5, 0x1000, 0x200000, 0x10, 0x10)); // R+X code
    elf.segments.add(new Phdr(1, 6, 0x1800, 0x201800, 0x20, 0x1000)); // R+W data, with bss
    return elf;
  }

  byte[] build() {
    ByteBuffer b = ByteBuffer.allocate(fileSize).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
    b.putShort(0x10, (short) 2); // ET_EXEC
    b.putShort(0x12, (short) 62); // EM_X86_64
    b.putInt(0x14, 1);
    b.putLong(0x18, entry);
    b.putLong(0x20, PHOFF);
    b.putShort(0x34, (short) 64);
    b.putShort(0x36, (short) 56);
    b.putShort(0x38, (short) segments.size());
    for (int i = 0; i < segments.size(); i++) {
      Phdr p = segments.get(i);
      int at = PHOFF + 56 * i;
      b.putInt(at, p.type());
      b.putInt(at + 4, p.flags());
      b.putLong(at + 8, p.offset());
      b.putLong(at + 16, p.vaddr());
      b.putLong(at + 24, p.vaddr());
      b.putLong(at + 32, p.filesz());
      b.putLong(at + 40, p.memsz());
      b.putLong(at + 48, 0x1000);
    }
    if (fileSize >= 0x1002) {
      b.put(0x1000, (byte) 0xEB); // jmp $
      b.put(0x1001, (byte) 0xFE);
    }
    return b.array();
  }
}
