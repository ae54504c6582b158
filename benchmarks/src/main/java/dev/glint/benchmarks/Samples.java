package dev.glint.benchmarks;

import java.util.Arrays;

/**
 * Latency samples in nanoseconds, summarised by percentiles the same way as the C floor programs do
 * (sort, take the element at {@code n * p}), so both sides are comparable.
 *
 * @param name what was measured
 * @param nanos the samples, in nanoseconds
 */
public record Samples(String name, long[] nanos) {

  /** Copies and sorts the samples. */
  public Samples {
    if (nanos.length == 0) {
      throw new IllegalArgumentException("no samples for " + name);
    }
    nanos = nanos.clone();
    Arrays.sort(nanos);
  }

  /** {@return the sample at fraction {@code p} of the sorted samples, 0 &lt;= p &lt; 1} */
  public long percentile(double p) {
    return nanos[(int) Math.min(nanos.length - 1, (long) (nanos.length * p))];
  }

  /** {@return the median in nanoseconds} */
  public long median() {
    return percentile(0.5);
  }
}
