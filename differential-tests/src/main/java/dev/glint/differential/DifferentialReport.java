package dev.glint.differential;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The result of a differential run. An immutable value.
 *
 * @param referenceName the reference backend
 * @param candidateName the backend under test
 * @param seed the run's seed
 * @param cases the number of cases run
 * @param mismatches the mismatches not listed as known, in case order
 * @param excluded the known mismatches that did mismatch, as "name: reason"
 * @param faults how many cases ended in a fault (the same on both sides, or not)
 * @param elapsed the wall time of the run
 */
public record DifferentialReport(
    String referenceName,
    String candidateName,
    long seed,
    int cases,
    List<Mismatch> mismatches,
    List<String> excluded,
    int faults,
    Duration elapsed) {

  /** Copies. */
  public DifferentialReport {
    mismatches = List.copyOf(mismatches);
    excluded = List.copyOf(excluded);
  }

  /** {@return one line: cases, mismatches, exclusions, time} */
  public String summary() {
    return String.format(
        Locale.ENGLISH,
        "%s vs %s, seed 0x%x: %d cases (%d ended in a fault), %d mismatches, %d known mismatches"
            + " excluded, %.1f s",
        referenceName,
        candidateName,
        seed,
        cases,
        faults,
        mismatches.size(),
        excluded.size(),
        elapsed.toMillis() / 1000.0);
  }
}
