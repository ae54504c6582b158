package dev.glint.cli;

import dev.glint.cli.internal.GlintCommand;
import java.io.PrintWriter;
import java.nio.charset.Charset;

/**
 * The {@code glint} command: {@code backends}, {@code run}, {@code bench}, {@code conformance} and
 * {@code serve}. See {@code glint --help}.
 *
 * <p>Exit codes: 0 success; 1 a failure (a guest fault, a failing conformance test, no hypervisor
 * available); 2 a usage error (an unknown option, a malformed or mistyped argument).
 */
public final class GlintCli {
  private GlintCli() {}

  /**
   * Runs the command and exits with its exit code.
   *
   * @param args the command line, such as {@code run hello PrintOutput str:hi}
   */
  public static void main(String[] args) {
    Charset charset = charset();
    PrintWriter out = new PrintWriter(System.out, true, charset);
    PrintWriter err = new PrintWriter(System.err, true, charset);
    int code = run(out, err, args);
    out.flush();
    err.flush();
    // serve returns only after its shutdown; every other command is done: exit with its code.
    System.exit(code);
  }

  /**
   * Runs the command, writing to {@code out} and {@code err}, and returns its exit code; for
   * embedding and tests.
   *
   * @param out where results go
   * @param err where messages and progress go
   * @param args the command line
   * @return the exit code: 0 success, 1 failure, 2 usage error
   */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    return GlintCommand.execute(out, err, args);
  }

  private static Charset charset() {
    String encoding = System.getProperty("stdout.encoding");
    try {
      return encoding == null ? Charset.defaultCharset() : Charset.forName(encoding);
    } catch (IllegalArgumentException e) {
      return Charset.defaultCharset();
    }
  }
}
