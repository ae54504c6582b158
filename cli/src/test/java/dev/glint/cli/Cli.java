package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.Availability;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/** Runs the command line in this JVM and captures what it writes; gates tests on KVM. */
final class Cli {
  private Cli() {}

  /**
   * What a command did.
   *
   * @param code its exit code
   * @param out what it wrote to standard output
   * @param err what it wrote to standard error
   */
  record Outcome(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit %d%n--- out:%n%s--- err:%n%s".formatted(code, out, err);
    }
  }

  /** {@return what {@code glint args} does} */
  static Outcome run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = GlintCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Outcome(code, out.toString(), err.toString());
  }

  /** {@return whether KVM can be used here} */
  static boolean kvmAvailable() {
    return Hypervisors.provider("kvm").map(p -> p.probe().isAvailable()).orElse(false);
  }

  /**
   * Skips the current test if KVM cannot be used, or fails it where {@code
   * -Dglint.conformance.require} names {@code kvm} (as CI sets it where /dev/kvm opens).
   */
  static void requireKvm() {
    Optional<HypervisorProvider> provider = Hypervisors.provider("kvm");
    String reason =
        provider.isEmpty()
            ? "no 'kvm' provider on the class path"
            : provider.get().probe() instanceof Availability.Unavailable(String why, var cause)
                ? why
                : null;
    if (reason == null) {
      return;
    }
    String message = "backend 'kvm' is unavailable: " + reason;
    if (Arrays.stream(System.getProperty("glint.conformance.require", "").split(","))
        .map(String::strip)
        .anyMatch("kvm"::equals)) {
      fail(message + " (and -Dglint.conformance.require requires it)");
    }
    Assumptions.abort(message);
  }
}
