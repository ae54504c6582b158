package dev.glint.cli.internal;

import dev.glint.cli.internal.conformance.ConformanceRun;
import dev.glint.cli.internal.conformance.ConformanceRun.Report;
import dev.glint.cli.internal.conformance.ConformanceRun.Status;
import dev.glint.cli.internal.conformance.ConformanceRun.TestResult;
import dev.glint.hv.Availability;
import dev.glint.hv.spi.HypervisorProvider;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code glint conformance}: runs the conformance suite against a backend through the JUnit
 * Platform launcher and prints a report per group, with the reasons for skips (grouped by the
 * capability the backend lacks) and the messages of failures.
 */
@Command(
    name = "conformance",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the conformance suite against a hypervisor backend.",
      "",
      "Reports each group of the suite: passed, skipped (with the reason, such as a capability"
          + " the backend lacks) and failed (with the message).",
      "Exits 1 if a test failed or the backend is unavailable."
    })
final class ConformanceCommand implements Callable<Integer> {
  private static final Pattern MISSING_CAPABILITY = Pattern.compile("does not provide (\\w+)");

  @Spec CommandSpec spec;

  @Option(
      names = "--backend",
      paramLabel = "NAME",
      description = "the backend to test (default: the best available; see 'glint backends')")
  String backend;

  @Option(
      names = {"-g", "--group"},
      paramLabel = "GROUP",
      split = ",",
      description =
          "run only these groups of the suite, such as Memory,Concurrency (see --list-groups)")
  List<String> groups = new ArrayList<>();

  @Option(names = "--list-groups", description = "list the suite's groups and exit")
  boolean listGroups;

  @Option(
      names = {"-v", "--verbose"},
      description = "list every test, and print the stack trace of each failure")
  boolean verbose;

  /** Creates the command; picocli calls it. */
  ConformanceCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (listGroups) {
      ConformanceRun.groups().forEach(out::println);
      return 0;
    }
    HypervisorProvider provider = Backends.choose(backend);
    String description =
        provider.probe() instanceof Availability.Available a ? a.description() : "";
    Report report;
    try {
      report = ConformanceRun.run(provider.name(), new TreeSet<>(groups), result -> {});
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    print(out, report, description);
    if (report.results().isEmpty()) {
      throw new CliFailure(1, "the suite ran no test; is the JUnit Jupiter engine on the path?");
    }
    return report.count(Status.FAILED) > 0 ? 1 : 0;
  }

  private void print(PrintWriter out, Report report, String description) {
    out.printf(
        "Conformance suite on backend '%s'%s%n%n",
        report.backend(), description.isEmpty() ? "" : " (" + description + ")");
    Map<String, Integer> missing = new TreeMap<>();
    for (Map.Entry<String, List<TestResult>> group : report.byGroup().entrySet()) {
      List<TestResult> results = group.getValue();
      out.printf("%s: %s%n", group.getKey(), counts(results));
      for (TestResult result : results) {
        switch (result.status()) {
          case PASSED -> {
            if (verbose) {
              out.printf("  passed   %s%n", result.name());
            }
          }
          case SKIPPED -> {
            out.printf("  skipped  %s: %s%n", result.name(), result.reason());
            Matcher m = MISSING_CAPABILITY.matcher(result.reason());
            if (m.find()) {
              missing.merge(m.group(1), 1, Integer::sum);
            }
          }
          case FAILED -> {
            out.printf("  FAILED   %s: %s%n", result.name(), indent(result.reason()));
            if (verbose && result.failure() != null) {
              java.io.StringWriter trace = new java.io.StringWriter();
              result.failure().printStackTrace(new PrintWriter(trace));
              out.print(indent("    " + trace.toString().strip()) + "\n");
            }
          }
        }
      }
    }
    out.println();
    if (!missing.isEmpty()) {
      List<String> lines = new ArrayList<>();
      missing.forEach(
          (capability, n) ->
              lines.add("%s (%d %s)".formatted(capability, n, n == 1 ? "test" : "tests")));
      out.printf("Skipped for a capability the backend lacks: %s%n", String.join(", ", lines));
    }
    out.printf(
        Locale.ROOT,
        "%d passed, %d skipped, %d failed in %.1f s%n",
        report.count(Status.PASSED),
        report.count(Status.SKIPPED),
        report.count(Status.FAILED),
        report.took().toMillis() / 1000.0);
  }

  private static String counts(List<TestResult> results) {
    List<String> parts = new ArrayList<>();
    for (Status status : Status.values()) {
      long n = results.stream().filter(r -> r.status() == status).count();
      if (n > 0) {
        parts.add(
            n
                + " "
                + (status == Status.FAILED ? "FAILED" : status.name().toLowerCase(Locale.ROOT)));
      }
    }
    return String.join(", ", parts);
  }

  private static String indent(String text) {
    return text.replace("\n", "\n    ");
  }
}
