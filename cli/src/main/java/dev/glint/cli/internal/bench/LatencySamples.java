package dev.glint.cli.internal.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * Latency samples in nanoseconds, summarised by percentiles the way the C floor summarises its own
 * (sort, take the element at {@code n * p}), so that both sides compare.
 *
 * @param name what was measured
 * @param nanos the samples, sorted
 */
public record LatencySamples(String name, long[] nanos) {

  /** Copies and sorts the samples. */
  public LatencySamples {
    if (nanos.length == 0) {
      throw new IllegalArgumentException("no samples for " + name);
    }
    nanos = nanos.clone();
    Arrays.sort(nanos);
  }

  /**
   * {@return the sample at fraction {@code p} of the sorted samples}
   *
   * @param p the fraction, 0 &lt;= p &lt; 1 (0.5 for the median)
   */
  public long percentile(double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("percentile %s must be in [0, 1)".formatted(p));
    }
    return nanos[(int) Math.min(nanos.length - 1, (long) (nanos.length * p))];
  }

  /** {@return how many samples there are} */
  public int count() {
    return nanos.length;
  }

  /**
   * {@return {@code nanos} for a person: "850 ns", "12.3 µs", "1.21 ms", "2.50 s"}
   *
   * @param nanos a duration in nanoseconds
   */
  public static String human(long nanos) {
    if (nanos < 1_000) {
      return nanos + " ns";
    } else if (nanos < 1_000_000) {
      return String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
    } else if (nanos < 1_000_000_000) {
      return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }
}
