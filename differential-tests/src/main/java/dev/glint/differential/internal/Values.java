package dev.glint.differential.internal;

import java.util.SplittableRandom;

/** Random 64-bit values biased towards the edge cases of integer and floating-point arithmetic. */
public final class Values {
  private Values() {}

  private static final long[] EDGES = {
    0,
    1,
    -1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x7FFF_FFFFL,
    0x8000_0000L,
    0xFFFF_FFFFL,
    0x1_0000_0000L,
    Long.MAX_VALUE,
    Long.MIN_VALUE,
    0xFFFF_FFFF_0000_0000L,
    0x8000_0000_0000_0001L,
    0xFF,
    -0x80,
    -0x8000,
    -0x8000_0000L
  };

  private static final long[] FLOATING = {
    Double.doubleToRawLongBits(1.0),
    Double.doubleToRawLongBits(-2.5),
    Double.doubleToRawLongBits(Double.MIN_VALUE),
    Double.doubleToRawLongBits(Double.POSITIVE_INFINITY),
    Double.doubleToRawLongBits(Double.NEGATIVE_INFINITY),
    0x7FF8_0000_0000_0000L, // quiet NaN
    0x7FF0_0000_0000_0001L, // signalling NaN
    0x8000_0000_0000_0000L, // -0.0
    Double.doubleToRawLongBits(1e300),
    (long) Float.floatToRawIntBits(1.5f) << 32 | Float.floatToRawIntBits(-3.0f) & 0xFFFF_FFFFL,
    (long) 0x7FC0_0000 << 32 | 0x0000_0001L, // float quiet NaN, float denormal
  };

  /** {@return one biased random 64-bit word} */
  public static long word(SplittableRandom random) {
    int kind = random.nextInt(20);
    return switch (kind) {
      case 0, 1, 2, 3, 4, 5, 6 -> random.nextLong();
      case 7, 8 -> random.nextInt(256);
      case 9 -> -1 - random.nextInt(256);
      case 10, 11 -> random.nextInt() & 0xFFFF_FFFFL;
      case 12 -> random.nextInt();
      case 13, 14 -> EDGES[random.nextInt(EDGES.length)];
      case 15 -> 1L << random.nextInt(64);
      case 16 -> (1L << random.nextInt(64)) - 1;
      case 17 -> FLOATING[random.nextInt(FLOATING.length)];
      case 18 -> random.nextLong() & 0x8000_0000_8000_8080L;
      default -> random.nextLong() >>> random.nextInt(64);
    };
  }

  /** {@return a biased immediate of {@code bytes} bytes, sign-extended to 64 bits} */
  public static long immediate(SplittableRandom random, int bytes) {
    long value;
    int kind = random.nextInt(8);
    if (kind < 2) {
      value = random.nextInt(17);
    } else if (kind < 3) {
      value = -1 - random.nextInt(16);
    } else if (kind < 4) {
      value = EDGES[random.nextInt(EDGES.length)];
    } else {
      value = random.nextLong();
    }
    return signExtend(value, bytes);
  }

  /** {@return the low {@code bytes} bytes of {@code value}, sign-extended} */
  public static long signExtend(long value, int bytes) {
    int shift = 64 - 8 * bytes;
    return value << shift >> shift;
  }
}
