package dev.glint.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.differential.internal.Flags;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.Registers;
import dev.glint.hv.VcpuExit;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The harness's self-test: against a deliberately wrong backend (KVM with a distortion) every
 * affected case is reported as a mismatch, printed as a reproducible case, and the printed case
 * reproduces it.
 */
class MismatchDetectionTest {
  private static final long SEED = 0x5e1f7e57L;
  private static final int CASES = 200;

  @Test
  void aFlippedCarryFlagIsReportedWhereverCarryIsCompared() {
    DifferentialReport report =
        runAgainst(
            "kvm-with-cf-flipped",
            r -> r.withRflags(r.rflags() ^ Flags.CF),
            UnaryOperator.identity());
    CaseGenerator generator = generator();
    int expected = 0;
    try (Hypervisor reference = Backends.reference();
        Hypervisor again = Backends.reference();
        DifferentialTester tester = new DifferentialTester(reference, again)) {
      for (int i = 0; i < CASES; i++) {
        TestCase c = generator.generate(SEED, i);
        boolean finished = tester.runReference(c).events().getLast() instanceof GuestEvent.Done;
        if ((c.comparedFlags() & Flags.CF) != 0 && finished) {
          expected++;
        }
      }
    }
    assertTrue(expected > 20, "too few cases compare CF to prove anything: " + expected);
    assertEquals(expected, report.mismatches().size(), report.summary());
    Mismatch first = report.mismatches().getFirst();
    assertEquals(1, first.differences().size(), first.report());
    assertTrue(first.differences().getFirst().startsWith("rflags:"), first.report());
    assertPrintedAsReproducibleCase(first);
  }

  @Test
  void aFlippedRegisterBitIsReportedInEveryCase() {
    DifferentialReport report =
        runAgainst(
            "kvm-with-rbx-bit-flipped",
            r -> r.with(dev.glint.hv.Register.RBX, r.rbx() ^ 1L << 17),
            UnaryOperator.identity());
    assertEquals(CASES, report.mismatches().size(), report.summary());
    for (Mismatch m : report.mismatches()) {
      assertTrue(m.differences().contains(rbxLine(m)), m.report());
    }
    assertPrintedAsReproducibleCase(report.mismatches().getLast());
  }

  @Test
  void aChangedPortWriteIsReportedAsADifferentEvent() {
    UnaryOperator<VcpuExit> changeData =
        exit ->
            exit instanceof VcpuExit.IoOut(int port, int size, long data) && port < 0x1F
                ? new VcpuExit.IoOut(port, size, data ^ 1)
                : exit;
    DifferentialReport report =
        runAgainst("kvm-with-out-changed", UnaryOperator.identity(), changeData);
    assertFalse(report.mismatches().isEmpty(), report.summary());
    for (Mismatch m : report.mismatches()) {
      assertTrue(m.differences().getFirst().startsWith("events:"), m.report());
    }
  }

  private static String rbxLine(Mismatch m) {
    return "rbx: 0x%x vs 0x%x"
        .formatted(m.reference().registers().rbx(), m.candidate().registers().rbx());
  }

  /** The report names the case, shows its bytes, both states, and its line reproduces it. */
  private static void assertPrintedAsReproducibleCase(Mismatch mismatch) {
    String report = mismatch.report();
    System.out.println(report);
    TestCase c = mismatch.testCase();
    assertTrue(report.contains(c.name()), report);
    assertTrue(report.contains(c.codeHex()), report);
    assertTrue(report.contains(mismatch.referenceName()), report);
    assertTrue(report.contains(mismatch.candidateName()), report);
    assertTrue(report.contains("<<"), "the differing register is marked: " + report);
    String line =
        report
            .lines()
            .filter(l -> l.strip().startsWith("reproduce: "))
            .findFirst()
            .orElseThrow()
            .strip()
            .substring("reproduce: ".length());
    TestCase parsed = TestCase.parse(line);
    assertEquals(c.toLine(), parsed.toLine());
    try (Hypervisor reference = Backends.reference();
        Hypervisor wrong =
            new WrongBackend(
                Backends.reference(),
                mismatch.candidateName(),
                r ->
                    r.withRflags(r.rflags() ^ Flags.CF)
                        .with(dev.glint.hv.Register.RBX, r.rbx() ^ 1L << 17),
                UnaryOperator.identity());
        DifferentialTester tester = new DifferentialTester(reference, wrong)) {
      Optional<Mismatch> again = tester.check(parsed);
      assertTrue(again.isPresent(), "the printed case reproduces a mismatch");
    }
  }

  private static CaseGenerator generator() {
    return new CaseGenerator(m -> true, true, 8);
  }

  private static DifferentialReport runAgainst(
      String name, UnaryOperator<Registers> registers, UnaryOperator<VcpuExit> exits) {
    try (Hypervisor reference = Backends.reference();
        Hypervisor wrong = new WrongBackend(Backends.reference(), name, registers, exits);
        DifferentialTester tester = new DifferentialTester(reference, wrong)) {
      return tester.run(generator(), SEED, CASES, KnownMismatches.none(), m -> {});
    }
  }
}
