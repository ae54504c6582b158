package dev.glint.hv.x86;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The flat long-mode global descriptor table used by Glint guests, and the {@link Segment} values
 * that match it.
 *
 * <table class="striped">
 *   <caption>Layout (8 bytes per slot)</caption>
 *   <thead><tr><th>offset</th><th>selector</th><th>descriptor</th></tr></thead>
 *   <tbody>
 *     <tr><td>0x00</td><td>-</td><td>null</td></tr>
 *     <tr><td>0x08</td><td>{@link #KERNEL_CODE_SELECTOR} 0x08</td><td>64-bit code, DPL 0</td></tr>
 *     <tr><td>0x10</td><td>{@link #KERNEL_DATA_SELECTOR} 0x10</td><td>data, DPL 0</td></tr>
 *     <tr><td>0x18</td><td>{@link #USER_DATA_SELECTOR} 0x1B</td><td>data, DPL 3</td></tr>
 *     <tr><td>0x20</td><td>{@link #USER_CODE_SELECTOR} 0x23</td><td>64-bit code, DPL 3</td></tr>
 *     <tr><td>0x28</td><td>{@link #TSS_SELECTOR} 0x28</td><td>64-bit TSS (16 bytes)</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>The order follows the {@code syscall}/{@code sysret} rules: {@code syscall} loads CS from
 * STAR[47:32] and SS from STAR[47:32] + 8 (kernel code, then kernel data); 64-bit {@code sysret}
 * loads SS from STAR[63:48] + 8 and CS from STAR[63:48] + 16 (user data, then user code), so {@link
 * #STAR} = kernel code in bits 47:32 and 0x10 in bits 63:48.
 *
 * <p>Code and data descriptors are written with the accessed bit set, so the CPU never writes the
 * GDT when it loads a selector (the GDT may sit in read-only or dirty-tracked memory). The TSS
 * descriptor is written busy (type 0xB), matching a task register loaded with {@link
 * #taskRegister}, as {@code ltr} would leave it.
 *
 * <p>Stateless and thread-safe.
 */
public final class Gdt {
  private Gdt() {}

  /** The selector of the 64-bit kernel code segment (index 1, RPL 0). */
  public static final int KERNEL_CODE_SELECTOR = 0x08;

  /** The selector of the kernel data and stack segment (index 2, RPL 0). */
  public static final int KERNEL_DATA_SELECTOR = 0x10;

  /** The selector of the user data and stack segment (index 3, RPL 3). */
  public static final int USER_DATA_SELECTOR = 0x18 | 3;

  /** The selector of the 64-bit user code segment (index 4, RPL 3). */
  public static final int USER_CODE_SELECTOR = 0x20 | 3;

  /** The selector of the 64-bit TSS (index 5; its descriptor takes slots 5 and 6). */
  public static final int TSS_SELECTOR = 0x28;

  /** The size of the table in bytes: 5 ordinary slots and a 16-byte TSS descriptor. */
  public static final int BYTE_SIZE = 7 * 8;

  /** The GDTR limit of the table (size minus one). */
  public static final int LIMIT = BYTE_SIZE - 1;

  /**
   * The 64-bit code descriptor at DPL 0: G=1, L=1, D=0, P=1, S=1, type 0xB (execute/read,
   * accessed), limit 0xFFFFF (ignored in 64-bit mode).
   */
  public static final long KERNEL_CODE_DESCRIPTOR = 0x00AF_9B00_0000_FFFFL;

  /** The data descriptor at DPL 0: G=1, D/B=1, P=1, S=1, type 0x3 (read/write, accessed). */
  public static final long KERNEL_DATA_DESCRIPTOR = 0x00CF_9300_0000_FFFFL;

  /** The data descriptor at DPL 3: as {@link #KERNEL_DATA_DESCRIPTOR} with DPL 3. */
  public static final long USER_DATA_DESCRIPTOR = 0x00CF_F300_0000_FFFFL;

  /** The 64-bit code descriptor at DPL 3: as {@link #KERNEL_CODE_DESCRIPTOR} with DPL 3. */
  public static final long USER_CODE_DESCRIPTOR = 0x00AF_FB00_0000_FFFFL;

  /**
   * The IA32_STAR MSR value for this layout (SYSCALL EIP bits 31:0 are unused in long mode): {@code
   * syscall} enters at {@link #KERNEL_CODE_SELECTOR}, {@code sysret} returns to {@link
   * #USER_CODE_SELECTOR} with stack {@link #USER_DATA_SELECTOR}.
   */
  public static final long STAR = ((long) 0x10 << 48) | ((long) KERNEL_CODE_SELECTOR << 32);

  /** The 64-bit TSS type, available. */
  public static final int TSS_TYPE_AVAILABLE = 0x9;

  /** The 64-bit TSS type, busy: what the task register holds after {@code ltr}. */
  public static final int TSS_TYPE_BUSY = 0xB;

  /**
   * {@return the 16-byte 64-bit TSS descriptor as two quadwords, low first}
   *
   * @param tssAddress the TSS's linear address
   * @param tssLimit the TSS's limit (size minus one), at most 0xFFFFF
   * @param type {@link #TSS_TYPE_AVAILABLE} or {@link #TSS_TYPE_BUSY}
   * @throws IllegalArgumentException if the limit does not fit 20 bits or the type is neither
   */
  public static long[] tssDescriptor(long tssAddress, int tssLimit, int type) {
    checkTssLimit(tssLimit);
    if (type != TSS_TYPE_AVAILABLE && type != TSS_TYPE_BUSY) {
      throw new IllegalArgumentException(
          "TSS type 0x%x must be 0x9 (available) or 0xB (busy)".formatted(type));
    }
    long low =
        (tssLimit & 0xFFFFL)
            | (tssAddress & 0xFF_FFFFL) << 16
            | (long) type << 40
            | 1L << 47 // P; S = 0 (system), DPL = 0
            | (long) (tssLimit >>> 16 & 0xF) << 48
            | (tssAddress >>> 24 & 0xFFL) << 56;
    long high = tssAddress >>> 32;
    return new long[] {low, high};
  }

  /**
   * {@return the seven quadwords of the table, in order}
   *
   * @param tssAddress the TSS's linear address
   * @param tssLimit the TSS's limit (size minus one), such as {@link TaskStateSegment#limit()}
   */
  public static long[] descriptors(long tssAddress, int tssLimit) {
    long[] tss = tssDescriptor(tssAddress, tssLimit, TSS_TYPE_BUSY);
    return new long[] {
      0,
      KERNEL_CODE_DESCRIPTOR,
      KERNEL_DATA_DESCRIPTOR,
      USER_DATA_DESCRIPTOR,
      USER_CODE_DESCRIPTOR,
      tss[0],
      tss[1]
    };
  }

  /**
   * Writes the table ({@link #BYTE_SIZE} bytes) at {@code offset} of {@code memory}.
   *
   * @param memory guest memory
   * @param offset where the table starts in {@code memory}; its guest address goes in GDTR
   * @param tssAddress the TSS's linear address
   * @param tssLimit the TSS's limit (size minus one)
   * @throws IndexOutOfBoundsException if the table does not fit in {@code memory} at {@code offset}
   * @throws IllegalArgumentException if the TSS limit does not fit 20 bits or {@code memory} is
   *     read-only
   */
  public static void write(MemorySegment memory, long offset, long tssAddress, int tssLimit) {
    if (memory.isReadOnly()) {
      throw new IllegalArgumentException("cannot write a GDT into a read-only segment");
    }
    long[] descriptors = descriptors(tssAddress, tssLimit);
    for (int i = 0; i < descriptors.length; i++) {
      memory.set(ValueLayout.JAVA_LONG_UNALIGNED, offset + i * 8L, descriptors[i]);
    }
  }

  /**
   * {@return the GDTR value for a table written at guest address {@code gdtAddress}}
   *
   * @param gdtAddress the table's linear address
   */
  public static DescriptorTable register(long gdtAddress) {
    return new DescriptorTable(gdtAddress, LIMIT);
  }

  /** {@return the code segment register for {@link #KERNEL_CODE_SELECTOR}} */
  public static Segment kernelCode() {
    return code(KERNEL_CODE_SELECTOR, 0);
  }

  /** {@return the data segment register for {@link #KERNEL_DATA_SELECTOR}} */
  public static Segment kernelData() {
    return data(KERNEL_DATA_SELECTOR, 0);
  }

  /** {@return the code segment register for {@link #USER_CODE_SELECTOR}} */
  public static Segment userCode() {
    return code(USER_CODE_SELECTOR, 3);
  }

  /** {@return the data segment register for {@link #USER_DATA_SELECTOR}} */
  public static Segment userData() {
    return data(USER_DATA_SELECTOR, 3);
  }

  /**
   * {@return the task register for {@link #TSS_SELECTOR}: a busy 64-bit TSS}
   *
   * @param tssAddress the TSS's linear address
   * @param tssLimit the TSS's limit (size minus one), at most 0xFFFFF
   * @throws IllegalArgumentException if the limit does not fit 20 bits
   */
  public static Segment taskRegister(long tssAddress, int tssLimit) {
    checkTssLimit(tssLimit);
    return new Segment(
        tssAddress,
        tssLimit,
        TSS_SELECTOR,
        TSS_TYPE_BUSY,
        true,
        0,
        false,
        true,
        false,
        false,
        false);
  }

  private static Segment code(int selector, int dpl) {
    return new Segment(0, 0xFFFF_FFFFL, selector, 0xB, true, dpl, false, false, true, true, false);
  }

  private static Segment data(int selector, int dpl) {
    return new Segment(0, 0xFFFF_FFFFL, selector, 0x3, true, dpl, true, false, false, true, false);
  }

  private static void checkTssLimit(int tssLimit) {
    if (tssLimit < TaskStateSegment.HEADER_SIZE - 1 || tssLimit > 0xF_FFFF) {
      throw new IllegalArgumentException(
          "TSS limit 0x%x must be at least 0x67 (a 104-byte TSS) and fit 20 bits"
              .formatted(tssLimit));
    }
  }
}
