package dev.glint.differential;

import dev.glint.hv.Hypervisor;
import dev.glint.hv.spi.Hypervisors;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of {@code bin/glint-differential}: a differential run of any length.
 *
 * <pre>
 *   glint-differential [cases] [seed] [--reference NAME] [--candidate NAME] [--case N]
 *                      [--max-instructions N] [--known FILE] [--no-sse] [--list]
 * </pre>
 *
 * <p>Defaults: 10,000 cases, seed 1, reference {@code kvm}, candidate {@code emulated} if that
 * backend is on the module path (else {@code kvm}, which proves the harness). {@code --case N} runs
 * and prints case {@code N} alone. Exits with status 1 if any mismatch was found, 2 on a usage
 * error.
 */
public final class GlintDifferential {
  private GlintDifferential() {}

  /**
   * Runs the differential test and prints each mismatch and a summary.
   *
   * @param args see the class comment
   */
  public static void main(String[] args) throws Exception {
    System.exit(run(args, System.out));
  }

  static int run(String[] args, PrintStream out) throws Exception {
    List<String> positional = new ArrayList<>();
    String referenceName = "kvm";
    String candidateName = null;
    int single = -1;
    int maxInstructions = 8;
    boolean sse = true;
    boolean list = false;
    KnownMismatches known = KnownMismatches.none();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--reference" -> referenceName = args[++i];
        case "--candidate" -> candidateName = args[++i];
        case "--case" -> single = Integer.parseInt(args[++i]);
        case "--max-instructions" -> maxInstructions = Integer.parseInt(args[++i]);
        case "--known" -> known = KnownMismatches.parse(Files.readAllLines(Path.of(args[++i])));
        case "--no-sse" -> sse = false;
        case "--list" -> list = true;
        case "-h", "--help" -> {
          out.println(
              "usage: glint-differential [cases] [seed] [--reference NAME] [--candidate NAME]"
                  + " [--case N] [--max-instructions N] [--known FILE] [--no-sse] [--list]");
          return 0;
        }
        default -> {
          if (args[i].startsWith("-")) {
            out.println("unknown option " + args[i] + "; try --help");
            return 2;
          }
          positional.add(args[i]);
        }
      }
    }
    int cases = positional.size() > 0 ? Integer.parseInt(positional.get(0)) : 10_000;
    long seed = positional.size() > 1 ? Long.decode(positional.get(1)) : 1;
    if (candidateName == null) {
      candidateName = Hypervisors.provider("emulated").isPresent() ? "emulated" : "kvm";
    }
    try (Hypervisor reference = Hypervisors.require(referenceName).open();
        Hypervisor candidate = Hypervisors.require(candidateName).open();
        DifferentialTester tester = new DifferentialTester(reference, candidate)) {
      CaseGenerator generator =
          new CaseGenerator(InstructionSet.implementedBy(candidateName), sse, maxInstructions);
      if (list) {
        for (int i = 0; i < cases; i++) {
          TestCase testCase = generator.generate(seed, i);
          out.println(testCase.name() + ": " + tester.runReference(testCase).events());
          dev.glint.differential.internal.Disassembler.disassemble(
                  testCase.code(), testCase.registers().rip())
              .ifPresent(lines -> lines.forEach(line -> out.println("    " + line)));
        }
        return 0;
      }
      if (single >= 0) {
        TestCase testCase = generator.generate(seed, single);
        out.println(testCase.toLine());
        var mismatch = tester.check(testCase);
        out.println(mismatch.map(Mismatch::report).orElse("both backends agree"));
        return mismatch.isPresent() ? 1 : 0;
      }
      DifferentialReport report =
          tester.run(generator, seed, cases, known, m -> out.println(m.report()));
      out.println(report.summary());
      report.excluded().forEach(e -> out.println("  excluded: " + e));
      return report.mismatches().isEmpty() ? 0 : 1;
    }
  }
}
