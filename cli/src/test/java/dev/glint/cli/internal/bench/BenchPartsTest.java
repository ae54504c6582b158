package dev.glint.cli.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** Percentiles and the progress bar. */
class BenchPartsTest {

  @Test
  void percentilesAreTakenFromTheSortedSamples() {
    long[] nanos = new long[100];
    for (int i = 0; i < 100; i++) {
      nanos[i] = 100 - i; // 100 .. 1, unsorted
    }
    LatencySamples samples = new LatencySamples("x", nanos);
    assertEquals(51, samples.percentile(0.5));
    assertEquals(91, samples.percentile(0.9));
    assertEquals(100, samples.percentile(0.99));
    assertEquals(1, samples.percentile(0));
    assertEquals(100, samples.count());
    assertThrows(IllegalArgumentException.class, () -> samples.percentile(1));
    assertThrows(IllegalArgumentException.class, () -> new LatencySamples("none", new long[0]));
  }

  @Test
  void durationsAreShownInTheirUnit() {
    assertEquals("850 ns", LatencySamples.human(850));
    assertEquals("12.3 µs", LatencySamples.human(12_345));
    assertEquals("1.21 ms", LatencySamples.human(1_210_000));
    assertEquals("2.50 s", LatencySamples.human(2_500_000_000L));
  }

  @Test
  void theBarDrawsInPlaceAndErasesItself() {
    StringWriter text = new StringWriter();
    try (ProgressBar bar = new ProgressBar(new PrintWriter(text), true, 10)) {
      bar.label("warm call");
      bar.advance(5);
      bar.label("pool call");
    }
    String drawn = text.toString();
    assertTrue(drawn.startsWith("\r[" + ".".repeat(30) + "]   0%  warm call"), drawn);
    assertTrue(
        drawn.contains("\r[" + "#".repeat(15) + ".".repeat(15) + "]  50%  pool call"), drawn);
    assertTrue(drawn.endsWith("\r"), drawn);
    assertTrue(!drawn.contains("\n"), "never a new line: " + drawn);
  }

  @Test
  void aDisabledBarWritesNothing() {
    StringWriter text = new StringWriter();
    try (ProgressBar bar = new ProgressBar(new PrintWriter(text), false, 10)) {
      bar.label("x");
      bar.advance(10);
      assertEquals(10, bar.done());
    }
    assertEquals("", text.toString());
  }
}
