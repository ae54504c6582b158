package dev.glint.cli.internal;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Reads a duration as a shell user writes it: {@code 250ms}, {@code 2s}, {@code 1.5s}, {@code 1m},
 * {@code 100us}, or ISO-8601 ({@code PT2S}).
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  private static final Pattern SIMPLE =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|µs|ms|s|m|h)", Pattern.CASE_INSENSITIVE);

  /** Creates the converter; picocli calls it. */
  DurationConverter() {}

  @Override
  public Duration convert(String text) {
    return parse(text);
  }

  /**
   * {@return the duration {@code text} describes}
   *
   * @throws CommandLine.TypeConversionException if it describes none, saying what is accepted
   */
  static Duration parse(String text) {
    String value = text.strip();
    Matcher m = SIMPLE.matcher(value);
    if (m.matches()) {
      double amount = Double.parseDouble(m.group(1));
      double nanosPerUnit =
          switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "ns" -> 1;
            case "us", "µs" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m" -> 60e9;
            default -> 3600e9;
          };
      double nanos = amount * nanosPerUnit;
      if (nanos > Long.MAX_VALUE) {
        throw new CommandLine.TypeConversionException("'" + text + "' is too long a duration");
      }
      return Duration.ofNanos(Math.round(nanos));
    }
    try {
      return Duration.parse(value);
    } catch (DateTimeParseException e) {
      throw new CommandLine.TypeConversionException(
          "'%s' is not a duration; write it as 500ms, 2s, 1.5s, 1m or PT2S".formatted(text));
    }
  }
}
