package dev.glint.differential;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Cases a backend is known to get wrong, each with the reason: a fixed-seed run excludes them (and
 * says how many it excluded) so that it stays green while the bug is open. An immutable value.
 *
 * <p>File format: one case a line, {@code <case name> | <reason>}, where the name is {@link
 * TestCase#name()} ("seed 0x2a case 17" or a regression's name); blank lines and lines starting
 * with {@code #} are ignored.
 *
 * @param reasons the reason for each case name
 */
public record KnownMismatches(Map<String, String> reasons) {

  /** Copies. */
  public KnownMismatches {
    reasons = Map.copyOf(reasons);
  }

  /** {@return no known mismatches} */
  public static KnownMismatches none() {
    return new KnownMismatches(Map.of());
  }

  /**
   * {@return the known mismatches listed in {@code lines}}
   *
   * @throws IllegalArgumentException if a line has no reason
   */
  public static KnownMismatches parse(List<String> lines) {
    Map<String, String> reasons = new LinkedHashMap<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int bar = line.indexOf('|');
      if (bar <= 0 || line.substring(bar + 1).isBlank()) {
        throw new IllegalArgumentException(
            "a known mismatch needs '<case name> | <reason>': " + line);
      }
      reasons.put(line.substring(0, bar).strip(), line.substring(bar + 1).strip());
    }
    return new KnownMismatches(reasons);
  }

  /** {@return why case {@code name} is known to mismatch, if it is} */
  public Optional<String> reason(String name) {
    return Optional.ofNullable(reasons.get(name));
  }
}
