package dev.glint.cli.internal;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code glint} command: its subcommands, help, version, and how errors become exit codes. */
@Command(
    name = "glint",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Runs untrusted functions in hardware-isolated micro-VMs.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {
      BackendsCommand.class,
      RunCommand.class,
      BenchCommand.class,
      ConformanceCommand.class,
      ServeCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Exit codes: 0 success, 1 failure (a guest fault, a failing test, no hypervisor), 2 usage"
          + " error.",
      "Run 'glint help COMMAND' for a command's options."
    })
public final class GlintCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  /** Creates the command; picocli calls it. */
  GlintCommand() {}

  /** Without a subcommand: the usage, and a usage error's exit code. */
  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    err.println("glint: a command is missing.");
    spec.commandLine().usage(err);
    return CommandLine.ExitCode.USAGE;
  }

  /**
   * Runs the command line {@code args}, writing results to {@code out} and messages to {@code err}.
   *
   * @param out where results go
   * @param err where messages and progress go
   * @param args the command line, without "glint"
   * @return the exit code: 0 success, 1 failure, 2 usage error
   */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    return commandLine(out, err).execute(args);
  }

  /** {@return the configured command line, for {@link #execute} and tests} */
  static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new GlintCommand());
    cli.setOut(out);
    cli.setErr(err);
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    // "@FILE" is a guest argument (bytes from a file), not one of picocli's argument files.
    cli.setExpandAtFiles(false);
    cli.setParameterExceptionHandler(GlintCommand::usageError);
    cli.setExecutionExceptionHandler(GlintCommand::failure);
    return cli;
  }

  /** A usage error: one line saying what is wrong, suggestions, and where to read more. */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cli = e.getCommandLine();
    PrintWriter err = cli.getErr();
    String message = e.getMessage();
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched
        && cli.getCommandSpec().parent() == null
        && !unmatched.getUnmatched().isEmpty()
        && !unmatched.getUnmatched().getFirst().startsWith("-")) {
      message =
          "unknown command '%s'; the commands are %s"
              .formatted(
                  unmatched.getUnmatched().getFirst(),
                  String.join(", ", cli.getSubcommands().keySet()));
    }
    err.println(cli.getCommandSpec().qualifiedName() + ": " + message);
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println(
        "Try '%s --help' for more information.".formatted(cli.getCommandSpec().qualifiedName()));
    return CommandLine.ExitCode.USAGE;
  }

  /**
   * A command threw: an expected failure is one message and its exit code; anything else is a bug
   * or an environment problem, shown with its stack trace.
   */
  private static int failure(Exception e, CommandLine cli, CommandLine.ParseResult parseResult) {
    PrintWriter err = cli.getErr();
    String name = cli.getCommandSpec().qualifiedName();
    if (e instanceof CliFailure failure) {
      err.println(name + ": " + failure.getMessage());
      if (failure.exitCode() == CommandLine.ExitCode.USAGE) {
        err.println("Try '%s --help' for more information.".formatted(name));
      }
      return failure.exitCode();
    }
    err.println(name + ": unexpected failure: " + e);
    e.printStackTrace(err);
    return CommandLine.ExitCode.SOFTWARE;
  }
}
