package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Hypervisor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The regression cases of {@code regressions.txt}: every mismatch found so far, as a complete case
 * (code, registers, data seed), run on both backends. Known mismatches are excluded and counted.
 */
class RegressionCasesTest {

  @Test
  void everyRegressionCaseAgrees() throws IOException {
    List<TestCase> cases = regressionCases();
    assertFalse(cases.isEmpty(), "regressions.txt holds no case");
    KnownMismatches known = FixedSeedDifferentialTest.knownMismatches();
    List<String> failures = new ArrayList<>();
    int excluded = 0;
    try (Hypervisor reference = Backends.reference();
        Hypervisor candidate = Backends.candidate();
        DifferentialTester tester = new DifferentialTester(reference, candidate)) {
      for (TestCase c : cases) {
        Optional<Mismatch> mismatch = tester.check(c);
        if (mismatch.isPresent()) {
          if (known.reason(c.name()).isPresent()) {
            excluded++;
          } else {
            failures.add(mismatch.get().report());
          }
        }
      }
    }
    System.out.printf(
        "%d regression cases, %d known mismatches excluded, %d failed%n",
        cases.size(), excluded, failures.size());
    if (!failures.isEmpty()) {
      fail(String.join("\n", failures));
    }
  }

  static List<TestCase> regressionCases() throws IOException {
    return FixedSeedDifferentialTest.resourceLines("regressions.txt").stream()
        .map(String::strip)
        .filter(line -> !line.isEmpty() && !line.startsWith("#"))
        .map(TestCase::parse)
        .toList();
  }
}
