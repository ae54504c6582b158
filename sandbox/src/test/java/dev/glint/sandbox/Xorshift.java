package dev.glint.sandbox;

/** The {@code state} guest's {@code Work(iterations)}, computed in Java: its expected result. */
final class Xorshift {
  /** The guest's starting value. */
  static final long SEED = 0x9E3779B97F4A7C15L;

  private Xorshift() {}

  /** {@return {@code iterations} rounds of xorshift64 from {@link #SEED}} */
  static long work(long iterations) {
    long x = SEED;
    for (long i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
    }
    return x;
  }
}
