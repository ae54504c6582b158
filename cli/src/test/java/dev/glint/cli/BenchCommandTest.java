package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code glint bench}, with few samples: the table, the floor's ratios, the progress bar. */
class BenchCommandTest {
  private static final String DURATION = "[0-9.]+ (?:ns|µs|ms|s)";

  @Test
  void printsPercentilesAndRatiosToTheCFloor() {
    Cli.requireKvm();
    Cli.Outcome outcome = Cli.run("bench", "--samples", "20", "--progress");
    assertEquals(0, outcome.code(), outcome::toString);
    String out = outcome.out();
    assertTrue(out.startsWith("glint bench: backend kvm ("), outcome::toString);
    assertTrue(
        out.contains("| measurement | p50 | p90 | p99 | C floor p50 | p50 / floor |"),
        outcome::toString);
    for (String row :
        List.of(
            "cold create: build `hello` to READY",
            "warm call: `PrintOutput` (2 exits)",
            "pool call: acquire + `PrintOutput` + release")) {
      Matcher m =
          Pattern.compile(
                  Pattern.quote("| " + row + " | ")
                      + "(D) \\| (D) \\| (D) \\| (D) \\| ([0-9.]+) \\|".replace("D", DURATION))
              .matcher(out);
      assertTrue(m.find(), row + " in " + outcome);
      assertTrue(Double.parseDouble(m.group(5)) > 0, row + " ratio in " + outcome);
    }
    assertTrue(
        out.matches("(?s).*\\| restore after a call \\| " + DURATION + " .* \\| — \\| — \\|\n.*"),
        outcome::toString);
    assertTrue(out.contains("C floor: kvm_floor.c (plain ioctls)"), outcome::toString);
    // The progress bar was drawn, then erased.
    assertTrue(
        outcome.err().contains("] 100%") || outcome.err().contains("%  "), outcome::toString);
    assertTrue(outcome.err().endsWith("\r"), "the bar is erased at the end: " + outcome);
  }

  @Test
  void withoutTheFloorTheRatiosAreLeftOut() {
    Cli.requireKvm();
    Cli.Outcome outcome = Cli.run("bench", "-n", "10", "--no-floor", "--no-progress");
    assertEquals(0, outcome.code(), outcome::toString);
    assertTrue(outcome.out().contains("C floor not measured (--no-floor)."), outcome::toString);
    assertTrue(
        outcome.out().contains("| warm call: `PrintOutput` (2 exits) | "), outcome::toString);
    assertTrue(outcome.out().contains(" | — | — |"), outcome::toString);
    assertEquals("", outcome.err());
  }

  @Test
  void tooFewSamplesIsAUsageError() {
    Cli.Outcome outcome = Cli.run("bench", "-n", "3");
    assertEquals(2, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains("--samples 3: must be 10 to 10000000"), outcome::toString);
  }
}
