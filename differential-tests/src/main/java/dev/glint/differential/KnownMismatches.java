package dev.glint.differential;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Cases a backend is known to get wrong, each with the reason: a fixed-seed run excludes them (and
 * says how many it excluded) so that it stays green while the bug is open. An immutable value.
 *
 * <p>File format: one entry a line, {@code <case name> | <reason>}, where the name is {@link
 * TestCase#name()} ("seed 0x2a case 17" or a regression's name), or {@code category: <category> |
 * <reason>}, which covers every mismatch whose {@link Mismatch#category()} is that category (a kind
 * of bug, recognised narrowly from the differences, so that the list stays right when the generated
 * cases change with the emulator's instruction table); blank lines and lines starting with {@code
 * #} are ignored.
 *
 * @param reasons the reason for each case name
 * @param categories the reason for each category
 */
public record KnownMismatches(Map<String, String> reasons, Map<String, String> categories) {

  private static final String CATEGORY = "category:";

  /** Copies. */
  public KnownMismatches {
    reasons = Map.copyOf(reasons);
    categories = Map.copyOf(categories);
  }

  /** {@return no known mismatches} */
  public static KnownMismatches none() {
    return new KnownMismatches(Map.of(), Map.of());
  }

  /** {@return why {@code mismatch} is known, by its case's name or its category, if it is} */
  public Optional<String> reason(Mismatch mismatch) {
    return reason(mismatch.testCase().name())
        .or(() -> Optional.ofNullable(categories.get(mismatch.category())));
  }

  /**
   * {@return the known mismatches listed in {@code lines}}
   *
   * @throws IllegalArgumentException if a line has no reason
   */
  public static KnownMismatches parse(List<String> lines) {
    Map<String, String> reasons = new LinkedHashMap<>();
    Map<String, String> categories = new LinkedHashMap<>();
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
      String key = line.substring(0, bar).strip();
      String reason = line.substring(bar + 1).strip();
      if (key.startsWith(CATEGORY)) {
        categories.put(key.substring(CATEGORY.length()).strip(), reason);
      } else {
        reasons.put(key, reason);
      }
    }
    return new KnownMismatches(reasons, categories);
  }

  /** {@return why case {@code name} is known to mismatch, if it is} */
  public Optional<String> reason(String name) {
    return Optional.ofNullable(reasons.get(name));
  }
}
