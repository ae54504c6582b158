package dev.glint.hv.x86;

import dev.glint.hv.DescriptorTable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A long-mode interrupt descriptor table of 16-byte interrupt gates (Intel SDM vol. 3, figure 6-8),
 * all through {@link Gdt#KERNEL_CODE_SELECTOR}. An interrupt gate clears IF on entry, so a handler
 * is not interrupted before it has saved what it needs. Vectors without a gate are not-present (a
 * #NP, then #DF on delivery, as the architecture says).
 *
 * <p>Not thread-safe: confine an instance to one thread while adding gates.
 */
public final class InterruptDescriptorTable {

  /** The size of one gate, in bytes. */
  public static final int GATE_SIZE = 16;

  /** The number of vectors. */
  public static final int VECTORS = 256;

  /** The type of a 64-bit interrupt gate. */
  public static final int INTERRUPT_GATE_TYPE = 0xE;

  private final long[] quadwords;

  /**
   * Creates a table with {@code vectors} not-present gates.
   *
   * @param vectors the number of gates, 1 to 256; the table covers vectors 0 to {@code vectors - 1}
   * @throws IllegalArgumentException if out of range
   */
  public InterruptDescriptorTable(int vectors) {
    if (vectors < 1 || vectors > VECTORS) {
      throw new IllegalArgumentException("IDT size %d must be 1..256 vectors".formatted(vectors));
    }
    this.quadwords = new long[vectors * 2];
  }

  /**
   * Installs an interrupt gate.
   *
   * @param vector the vector, inside the table
   * @param handler the handler's linear address (canonical)
   * @param dpl the highest CPL allowed to raise the vector with {@code int n} (exceptions ignore
   *     it): 0 for exception handlers, 3 for a gate user code may call
   * @param ist the interrupt stack table slot to switch to, 1 to 7, or 0 for the usual stack
   * @return this table
   * @throws IllegalArgumentException if a value is out of range
   */
  public InterruptDescriptorTable setInterruptGate(int vector, long handler, int dpl, int ist) {
    if (vector < 0 || vector >= vectorCount()) {
      throw new IllegalArgumentException(
          "vector %d must be 0..%d (the table's size)".formatted(vector, vectorCount() - 1));
    }
    long[] gate = encodeInterruptGate(handler, Gdt.KERNEL_CODE_SELECTOR, dpl, ist);
    quadwords[2 * vector] = gate[0];
    quadwords[2 * vector + 1] = gate[1];
    return this;
  }

  /**
   * {@return a 16-byte interrupt gate as two quadwords, low first}
   *
   * @param handler the handler's linear address, canonical
   * @param selector the code segment selector
   * @param dpl 0 to 3
   * @param ist 0 to 7
   * @throws IllegalArgumentException if a value is out of range
   */
  public static long[] encodeInterruptGate(long handler, int selector, int dpl, int ist) {
    if (dpl < 0 || dpl > 3) {
      throw new IllegalArgumentException("gate DPL %d must be 0..3".formatted(dpl));
    }
    if (ist < 0 || ist > 7) {
      throw new IllegalArgumentException("IST slot %d must be 0 (none) or 1..7".formatted(ist));
    }
    if (selector < 0 || selector > 0xFFFF) {
      throw new IllegalArgumentException("selector 0x%x must fit 16 bits".formatted(selector));
    }
    if ((handler >> 47) != 0 && (handler >> 47) != -1) {
      throw new IllegalArgumentException(
          "handler address 0x%x must be canonical".formatted(handler));
    }
    long low =
        (handler & 0xFFFFL)
            | (long) selector << 16
            | (long) ist << 32
            | (long) INTERRUPT_GATE_TYPE << 40
            | (long) dpl << 45
            | 1L << 47 // P
            | (handler >>> 16 & 0xFFFFL) << 48;
    long high = handler >>> 32;
    return new long[] {low, high};
  }

  /** {@return the number of vectors the table covers} */
  public int vectorCount() {
    return quadwords.length / 2;
  }

  /** {@return the size in bytes} */
  public int byteSize() {
    return quadwords.length * 8;
  }

  /** {@return the IDTR limit (size minus one)} */
  public int limit() {
    return byteSize() - 1;
  }

  /**
   * {@return the IDTR value for the table written at guest address {@code idtAddress}}
   *
   * @param idtAddress the table's linear address
   */
  public DescriptorTable register(long idtAddress) {
    return new DescriptorTable(idtAddress, limit());
  }

  /**
   * Writes the table ({@link #byteSize()} bytes) at {@code offset} of {@code memory}.
   *
   * @param memory guest memory
   * @param offset where the table starts in {@code memory}; its guest address goes in IDTR
   * @throws IndexOutOfBoundsException if it does not fit
   * @throws IllegalArgumentException if {@code memory} is read-only
   */
  public void write(MemorySegment memory, long offset) {
    if (memory.isReadOnly()) {
      throw new IllegalArgumentException("cannot write an IDT into a read-only segment");
    }
    for (int i = 0; i < quadwords.length; i++) {
      memory.set(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8L * i, quadwords[i]);
    }
  }
}
