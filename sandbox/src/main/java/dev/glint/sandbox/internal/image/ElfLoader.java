package dev.glint.sandbox.internal.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Checks a guest image against every rule of ABI §3 and returns its load segments. The file is
 * hostile input: every field is read within bounds, every sum of guest-controlled values is
 * computed without overflow, and any break of a rule throws {@link ImageFormatException} naming the
 * rule and the values. Stateless and thread-safe.
 */
public final class ElfLoader {

  /** The page size. */
  public static final long PAGE_SIZE = 4096;

  /** Where the image area starts (ABI §1). */
  public static final long IMAGE_BASE = 0x20_0000;

  /** The default size of the image area (ABI §3 rule 5). */
  public static final long DEFAULT_MAX_IMAGE_SIZE = 16L << 20;

  /** The largest image file (ABI §3 rule 7). */
  public static final long MAX_FILE_SIZE = 64L << 20;

  /** The most program headers (ABI §3 rule 3). */
  public static final int MAX_PROGRAM_HEADERS = 16;

  static final int EHDR_SIZE = 64;
  static final int PHDR_SIZE = 56;
  static final int ET_EXEC = 2;
  static final int EM_X86_64 = 62;
  static final int PT_NULL = 0;
  static final int PT_LOAD = 1;
  static final int PT_DYNAMIC = 2;
  static final int PT_INTERP = 3;
  static final int PT_NOTE = 4;
  static final int PT_TLS = 7;
  static final int PT_GNU_STACK = 0x6474_E551;
  static final int PT_GNU_PROPERTY = 0x6474_E553;
  static final int PF_X = 1;
  static final int PF_W = 2;
  static final int PF_R = 4;

  private final long maxImageSize;

  /** Creates a loader with the default image area of 16 MiB. */
  public ElfLoader() {
    this(DEFAULT_MAX_IMAGE_SIZE);
  }

  /**
   * Creates a loader.
   *
   * @param maxImageSize the size of the image area in bytes, a positive multiple of the page size
   */
  public ElfLoader(long maxImageSize) {
    if (maxImageSize <= 0 || maxImageSize % PAGE_SIZE != 0) {
      throw new IllegalArgumentException(
          "max image size %d must be a positive multiple of 4096".formatted(maxImageSize));
    }
    this.maxImageSize = maxImageSize;
  }

  /**
   * Checks {@code file} and returns the image.
   *
   * @param file the ELF file; copied, so the caller may reuse the array
   * @throws ImageFormatException if any rule of ABI §3 is broken
   */
  public GuestImage load(byte[] file) {
    if (file.length > MAX_FILE_SIZE) {
      throw new ImageFormatException(
          "rule 7: the file is %d bytes; a guest image is at most %d bytes (64 MiB)"
              .formatted(file.length, MAX_FILE_SIZE));
    }
    byte[] copy = file.clone();
    ByteBuffer elf = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
    checkIdentification(elf);
    checkHeader(elf);
    long phoff = elf.getLong(0x20);
    int phnum = Short.toUnsignedInt(elf.getShort(0x38));
    if (phnum < 1 || phnum > MAX_PROGRAM_HEADERS) {
      throw new ImageFormatException(
          "rule 3: e_phnum is %d; a guest image has 1 to %d program headers"
              .formatted(phnum, MAX_PROGRAM_HEADERS));
    }
    long tableSize = (long) phnum * PHDR_SIZE;
    if (phoff < 0 || phoff > copy.length || tableSize > copy.length - phoff) {
      throw new ImageFormatException(
          "rule 3: the program header table [e_phoff 0x%x, +0x%x) lies outside the file (0x%x bytes)"
              .formatted(phoff, tableSize, copy.length));
    }
    List<LoadSegment> segments = new ArrayList<>();
    for (int i = 0; i < phnum; i++) {
      LoadSegment segment = programHeader(elf, (int) (phoff + (long) i * PHDR_SIZE), i, copy);
      if (segment != null) {
        segments.add(segment);
      }
    }
    return checkSegments(elf.getLong(0x18), segments, copy);
  }

  private static void checkIdentification(ByteBuffer elf) {
    if (elf.capacity() < EHDR_SIZE) {
      throw new ImageFormatException(
          "rule 1: the file is %d bytes, shorter than the 64-byte ELF header"
              .formatted(elf.capacity()));
    }
    if (elf.get(0) != 0x7F || elf.get(1) != 'E' || elf.get(2) != 'L' || elf.get(3) != 'F') {
      throw new ImageFormatException(
          "rule 1: the ELF magic is %02x %02x %02x %02x, not 7f 45 4c 46"
              .formatted(elf.get(0), elf.get(1), elf.get(2), elf.get(3)));
    }
    if (elf.get(4) != 2) {
      throw new ImageFormatException(
          "rule 1: EI_CLASS is %d; a guest image is ELFCLASS64 (2)".formatted(elf.get(4)));
    }
    if (elf.get(5) != 1) {
      throw new ImageFormatException(
          "rule 1: EI_DATA is %d; a guest image is ELFDATA2LSB (1, little-endian)"
              .formatted(elf.get(5)));
    }
    if (elf.get(6) != 1) {
      throw new ImageFormatException(
          "rule 1: EI_VERSION is %d; it must be 1".formatted(elf.get(6)));
    }
  }

  private static void checkHeader(ByteBuffer elf) {
    int type = Short.toUnsignedInt(elf.getShort(0x10));
    if (type != ET_EXEC) {
      throw new ImageFormatException(
          "rule 2: e_type is %d; a guest image is ET_EXEC (2), not a PIE or shared object"
              .formatted(type));
    }
    int machine = Short.toUnsignedInt(elf.getShort(0x12));
    if (machine != EM_X86_64) {
      throw new ImageFormatException(
          "rule 2: e_machine is %d; a guest image is EM_X86_64 (62)".formatted(machine));
    }
    int version = elf.getInt(0x14);
    if (version != 1) {
      throw new ImageFormatException("rule 2: e_version is %d; it must be 1".formatted(version));
    }
    int ehsize = Short.toUnsignedInt(elf.getShort(0x34));
    if (ehsize != EHDR_SIZE) {
      throw new ImageFormatException("rule 2: e_ehsize is %d; it must be 64".formatted(ehsize));
    }
    int phentsize = Short.toUnsignedInt(elf.getShort(0x36));
    if (phentsize != PHDR_SIZE) {
      throw new ImageFormatException(
          "rule 2: e_phentsize is %d; it must be 56".formatted(phentsize));
    }
  }

  /** {@return the PT_LOAD segment at {@code at}, or null for an ignored type} */
  private LoadSegment programHeader(ByteBuffer elf, int at, int index, byte[] file) {
    int type = elf.getInt(at);
    int flags = elf.getInt(at + 4);
    long offset = elf.getLong(at + 8);
    long vaddr = elf.getLong(at + 16);
    long filesz = elf.getLong(at + 32);
    long memsz = elf.getLong(at + 40);
    switch (type) {
      case PT_LOAD -> {}
      case PT_NULL, PT_NOTE, PT_GNU_STACK, PT_GNU_PROPERTY -> {
        return null;
      }
      case PT_INTERP ->
          throw new ImageFormatException(
              "rule 4: segment %d is PT_INTERP; a guest image has no program interpreter"
                  .formatted(index));
      case PT_DYNAMIC ->
          throw new ImageFormatException(
              "rule 4: segment %d is PT_DYNAMIC; a guest image is linked statically"
                  .formatted(index));
      case PT_TLS ->
          throw new ImageFormatException(
              "rule 4: segment %d is PT_TLS; a guest has no threads".formatted(index));
      default ->
          throw new ImageFormatException(
              "rule 4: segment %d has type 0x%x, which a guest image may not contain"
                  .formatted(index, type));
    }
    String segment = "segment " + index;
    if (Long.compareUnsigned(filesz, memsz) > 0) {
      throw new ImageFormatException(
          "rule 5: %s: p_filesz (0x%x) exceeds p_memsz (0x%x)".formatted(segment, filesz, memsz));
    }
    if (offset < 0 || filesz < 0 || offset > file.length || filesz > file.length - offset) {
      throw new ImageFormatException(
          "rule 5: %s: p_offset + p_filesz (0x%s) exceeds the file size (0x%x)"
              .formatted(segment, unsignedSum(offset, filesz), file.length));
    }
    if (Long.remainderUnsigned(vaddr, PAGE_SIZE) != Long.remainderUnsigned(offset, PAGE_SIZE)) {
      throw new ImageFormatException(
          "rule 5: %s: p_vaddr (0x%x) and p_offset (0x%x) differ modulo the page size"
              .formatted(segment, vaddr, offset));
    }
    long areaEnd = IMAGE_BASE + maxImageSize;
    if (vaddr < IMAGE_BASE
        || vaddr >= areaEnd
        || memsz < 0
        || memsz > areaEnd - vaddr
        || ((vaddr + memsz + PAGE_SIZE - 1) & -PAGE_SIZE) > areaEnd) {
      throw new ImageFormatException(
          "rule 5: %s: [p_vaddr 0x%x, + p_memsz 0x%x) lies outside the image area [0x%x, 0x%x)"
              .formatted(segment, vaddr, memsz, IMAGE_BASE, areaEnd));
    }
    boolean writable = (flags & PF_W) != 0;
    boolean executable = (flags & PF_X) != 0;
    if (writable && executable) {
      throw new ImageFormatException(
          "rule 5: %s is both writable and executable (p_flags 0x%x); split code and data"
              .formatted(segment, flags));
    }
    return new LoadSegment(
        index, vaddr, memsz, offset, filesz, (flags & PF_R) != 0, writable, executable);
  }

  private static GuestImage checkSegments(long entry, List<LoadSegment> segments, byte[] file) {
    if (segments.isEmpty()) {
      throw new ImageFormatException("rule 5: the image has no PT_LOAD segment");
    }
    List<LoadSegment> sorted = new ArrayList<>(segments);
    sorted.sort(Comparator.comparingLong(LoadSegment::virtualAddress));
    for (int i = 1; i < sorted.size(); i++) {
      LoadSegment previous = sorted.get(i - 1);
      LoadSegment next = sorted.get(i);
      if (next.pageStart() < previous.pageEnd()) {
        throw new ImageFormatException(
            ("rule 5: segment %d [0x%x, 0x%x) and segment %d [0x%x, 0x%x) overlap"
                    + " (page-rounded); each page belongs to one segment")
                .formatted(
                    previous.index(),
                    previous.pageStart(),
                    previous.pageEnd(),
                    next.index(),
                    next.pageStart(),
                    next.pageEnd()));
      }
    }
    if (sorted.stream().noneMatch(LoadSegment::executable)) {
      throw new ImageFormatException("rule 5: no PT_LOAD segment is executable");
    }
    if (sorted.stream().noneMatch(s -> s.executable() && s.contains(entry))) {
      throw new ImageFormatException(
          "rule 6: e_entry 0x%x does not lie inside an executable PT_LOAD segment"
              .formatted(entry));
    }
    return new GuestImage(entry, sorted, file);
  }

  private static String unsignedSum(long a, long b) {
    return new java.math.BigInteger(Long.toUnsignedString(a))
        .add(new java.math.BigInteger(Long.toUnsignedString(b)))
        .toString(16);
  }
}
