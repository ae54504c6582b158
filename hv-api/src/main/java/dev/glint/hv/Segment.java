package dev.glint.hv;

/**
 * A segment register as the CPU holds it: selector plus the cached descriptor fields. An immutable
 * value.
 *
 * @param base linear base address
 * @param limit limit in bytes, already scaled by granularity (0xFFFFFFFF for a flat segment)
 * @param selector the visible 16-bit selector
 * @param type the 4-bit descriptor type (for code: 0xB = execute/read, accessed; for data: 0x3 =
 *     read/write, accessed; for a 64-bit TSS: 0xB = busy)
 * @param present P bit
 * @param dpl descriptor privilege level, 0 to 3
 * @param defaultSize D/B bit (32-bit default operand size)
 * @param system S bit clear, i.e. a system segment such as a TSS or LDT
 * @param longMode L bit (64-bit code segment)
 * @param granularity G bit (limit counted in 4 KiB units in the descriptor)
 * @param unusable whether the register holds no usable segment (a null selector)
 */
public record Segment(
    long base,
    long limit,
    int selector,
    int type,
    boolean present,
    int dpl,
    boolean defaultSize,
    boolean system,
    boolean longMode,
    boolean granularity,
    boolean unusable) {

  /** Checks field ranges. */
  public Segment {
    if (limit < 0 || limit > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("segment limit 0x%x must fit 32 bits".formatted(limit));
    }
    if (selector < 0 || selector > 0xFFFF) {
      throw new IllegalArgumentException("selector 0x%x must fit 16 bits".formatted(selector));
    }
    if (type < 0 || type > 0xF) {
      throw new IllegalArgumentException("segment type %d must be 0..15".formatted(type));
    }
    if (dpl < 0 || dpl > 3) {
      throw new IllegalArgumentException("segment DPL %d must be 0..3".formatted(dpl));
    }
  }

  /** {@return a 16-bit real-mode segment for {@code selector} (base = selector * 16)} */
  public static Segment realMode(int selector, int type) {
    return new Segment(
        (long) selector << 4, 0xFFFF, selector, type, true, 0, false, false, false, false, false);
  }

  /** {@return the unusable null segment} */
  public static Segment unusableNull() {
    return new Segment(0, 0, 0, 0, false, 0, false, false, false, false, true);
  }

  /** {@return the requested privilege level, the low two bits of the selector} */
  public int rpl() {
    return selector & 3;
  }
}
