package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Hypervisor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fixed-seed differential run of CI: thousands of random sequences on the backend under test
 * (the emulator) and on the real CPU through KVM at CPL 3, which must agree. Cases listed in {@code
 * known-mismatches.txt} are excluded, and counted in the output.
 *
 * <p>System properties: {@code glint.differential.cases} (default 3000) and {@code
 * glint.differential.seed} (default 0x676c696e74) for a longer or different run.
 */
class FixedSeedDifferentialTest {

  static final long DEFAULT_SEED = 0x676c696e74L;

  @Test
  @Timeout(300)
  void theBackendsAgreeOnEveryCaseOfTheFixedSeed() throws IOException {
    int cases = Integer.getInteger("glint.differential.cases", 3000);
    long seed = Long.decode(System.getProperty("glint.differential.seed", "" + DEFAULT_SEED));
    KnownMismatches known = knownMismatches();
    try (Hypervisor reference = Backends.reference();
        Hypervisor candidate = Backends.candidate();
        DifferentialTester tester = new DifferentialTester(reference, candidate)) {
      CaseGenerator generator =
          new CaseGenerator(InstructionSet.implementedBy(candidate.name()), true, 8);
      DifferentialReport report =
          tester.run(
              generator, seed, cases, known, mismatch -> System.out.println(mismatch.report()));
      System.out.println(report.summary());
      System.out.printf(
          "%d known mismatches excluded (known-mismatches.txt)%n", report.excluded().size());
      report.excluded().forEach(e -> System.out.println("  excluded: " + e));
      assertEquals(cases, report.cases());
      assertTrue(report.faults() > 0, "some cases should fault on purpose: " + report.summary());
      if (!report.mismatches().isEmpty()) {
        fail(
            "%s; the first ones:%n%s"
                .formatted(
                    report.summary(),
                    report.mismatches().stream()
                        .limit(5)
                        .map(Mismatch::report)
                        .collect(Collectors.joining("\n"))));
      }
    }
  }

  static KnownMismatches knownMismatches() throws IOException {
    return KnownMismatches.parse(resourceLines("known-mismatches.txt"));
  }

  static List<String> resourceLines(String name) throws IOException {
    try (InputStream in = FixedSeedDifferentialTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("resource " + name + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }
}
