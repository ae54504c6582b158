package dev.glint.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Durations as a shell user writes them. */
class DurationConverterTest {

  @Test
  void readsUnitsAndIso() {
    assertEquals(Duration.ofMillis(250), DurationConverter.parse("250ms"));
    assertEquals(Duration.ofMillis(1500), DurationConverter.parse("1.5s"));
    assertEquals(Duration.ofSeconds(2), DurationConverter.parse("2 s"));
    assertEquals(Duration.ofMinutes(1), DurationConverter.parse("1m"));
    assertEquals(Duration.ofNanos(100_000), DurationConverter.parse("100us"));
    assertEquals(Duration.ofSeconds(2), DurationConverter.parse("PT2S"));
  }

  @Test
  void refusesTheRest() {
    for (String bad : new String[] {"soon", "5", "-1s", "1 fortnight"}) {
      assertThrows(
          CommandLine.TypeConversionException.class, () -> DurationConverter.parse(bad), bad);
    }
  }
}
