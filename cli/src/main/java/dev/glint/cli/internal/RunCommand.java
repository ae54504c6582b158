package dev.glint.cli.internal;

import dev.glint.cli.internal.args.ArgumentException;
import dev.glint.cli.internal.args.GuestArguments;
import dev.glint.cli.internal.args.Results;
import dev.glint.guest.SampleGuests;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.sandbox.GuestFaultException;
import dev.glint.sandbox.GuestFunction;
import dev.glint.sandbox.GuestImageException;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.SandboxException;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code glint run GUEST FUNCTION [ARG...]}: builds a sandbox of the guest, calls one function with
 * typed arguments checked against the guest's own function table, prints the result, closes it.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Calls FUNCTION of GUEST in a new micro-VM and prints the result.",
      "Without FUNCTION, lists the guest's functions.",
      "",
      "Arguments are TYPE:VALUE or a bare VALUE, read as the parameter's type from the guest's"
          + " function table:",
      "  i32:-5  u32:7  i64:0x10  u64:1  f32:1.5  f64:nan  bool:true  str:hello",
      "  bytes:@FILE  bytes:@- (standard input)  bytes:TEXT (its UTF-8)",
      "  bytes:hex:00ff  bytes:base64:AP8=",
      "A value that starts with '-' and is no number takes its type (f64:-inf), or follows --.",
      "The guest's HostPrint text goes to standard output (see --guest-output), then the result"
          + " on its own line: integers in decimal, bytes in hex (or raw into --out FILE)."
    },
    footer = {
      "",
      "Examples:",
      "  glint run hello PrintOutput 'Hello, Glint!'",
      "  glint run compute Sha256 bytes:@README.md",
      "  glint run faults NullDeref      (exits 1 with the fault report)"
    })
final class RunCommand implements Callable<Integer> {
  private static final System.Logger LOG = System.getLogger("dev.glint.cli");

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      paramLabel = "GUEST",
      description = "a guest ELF file, or a sample guest: hello, echo, compute, faults, state")
  String guest;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "FUNCTION",
      description = "the function to call")
  String function;

  @Parameters(index = "2..*", paramLabel = "ARG", description = "the function's arguments")
  List<String> arguments = List.of();

  @Mixin SandboxOptions sandbox;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "stop the call (and the guest's initialization) after this long, such as 500ms or 2s")
  Duration timeout;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "write the result to FILE instead (bytes raw, other types as text)")
  Path out;

  @Option(
      names = "--guest-output",
      paramLabel = "WHERE",
      description = "where the guest's HostPrint text goes: stdout (default), stderr or none")
  String guestOutput = "stdout";

  /** Creates the command; picocli calls it. */
  RunCommand() {}

  @Override
  public Integer call() throws IOException {
    PrintWriter stdout = spec.commandLine().getOut();
    byte[] image = image();
    GuestPrinter printer = new GuestPrinter(printTarget(stdout));
    Sandbox.Builder builder = Sandbox.builder().guest(image).printTo(printer);
    if (sandbox.backend != null) {
      Backends.choose(sandbox.backend); // a clear message for an unknown or unavailable name
      builder.backend(sandbox.backend);
    } else {
      HypervisorProvider provider = Backends.choose(null);
      Backends.fallbackNotice(provider)
          .ifPresent(notice -> LOG.log(System.Logger.Level.WARNING, notice));
      builder.backend(provider.name());
    }
    if (sandbox.level != null) {
      builder.privilegeLevel(sandbox.level);
    }
    if (timeout != null) {
      builder.callTimeout(checkTimeout(timeout));
    }
    try (Sandbox box = build(builder)) {
      if (function == null) {
        stdout.printf("%s exports:%n", guest);
        box.functions().forEach(f -> stdout.printf("  %s%n", f));
        return 0;
      }
      GuestFunction target = find(box.functions());
      List<Object> values;
      try {
        values = GuestArguments.parse(target, arguments, System.in);
      } catch (ArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
      Object result = call(box, target, values);
      printer.endLine();
      emit(stdout, target.returnType(), result);
      return 0;
    }
  }

  /** {@return the guest's ELF bytes: the file GUEST, else the sample guest of that name} */
  private byte[] image() throws IOException {
    Path file = Path.of(guest);
    if (Files.isRegularFile(file)) {
      return Files.readAllBytes(file);
    }
    if (SampleGuests.ALL.contains(guest)) {
      return SampleGuests.load(guest);
    }
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "GUEST '%s' is neither a file nor a sample guest (%s)"
            .formatted(guest, String.join(", ", SampleGuests.ALL)));
  }

  private Consumer<String> printTarget(PrintWriter stdout) {
    return switch (guestOutput.toLowerCase(Locale.ROOT)) {
      case "stdout" -> stdout::print;
      case "stderr" -> spec.commandLine().getErr()::print;
      case "none" -> text -> {};
      default ->
          throw new CommandLine.ParameterException(
              spec.commandLine(),
              "--guest-output '%s': write stdout, stderr or none".formatted(guestOutput));
    };
  }

  private Duration checkTimeout(Duration value) {
    if (value.compareTo(Duration.ofMillis(1)) < 0 || value.compareTo(Duration.ofDays(1)) > 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--timeout %s: must be 1ms to 1 day".formatted(value));
    }
    return value;
  }

  private Sandbox build(Sandbox.Builder builder) {
    try {
      return builder.build();
    } catch (GuestImageException e) {
      throw new CliFailure(1, "'%s' is not a Glint guest: %s".formatted(guest, e.getMessage()), e);
    } catch (MissingCapabilityException e) {
      throw new CliFailure(1, e.getMessage(), e);
    } catch (SandboxException e) {
      throw new CliFailure(1, "the guest failed to initialize: " + describe(e), e);
    } catch (HypervisorException e) {
      throw new CliFailure(1, "the hypervisor failed: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new CliFailure(1, "the guest does not fit: " + e.getMessage(), e);
    }
  }

  private GuestFunction find(List<GuestFunction> functions) {
    for (GuestFunction f : functions) {
      if (f.name().equals(function)) {
        return f;
      }
    }
    String suggestion =
        functions.stream()
            .filter(f -> f.name().equalsIgnoreCase(function))
            .map(f -> " Did you mean " + f.name() + "?")
            .findFirst()
            .orElse("");
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "%s exports no function '%s'.%s It exports:%n%s"
            .formatted(
                guest,
                function,
                suggestion,
                functions.stream().map(f -> "  " + f).collect(Collectors.joining("\n"))));
  }

  private Object call(Sandbox box, GuestFunction target, List<Object> values) {
    try {
      return box.call(target.name(), target.returnType(), values.toArray());
    } catch (SandboxException e) {
      throw new CliFailure(1, describe(e), e);
    } catch (HypervisorException e) {
      throw new CliFailure(1, "the hypervisor failed: " + e.getMessage(), e);
    }
  }

  /** {@return a failure as one message; a fault with the CPU's report spelled out} */
  static String describe(SandboxException e) {
    // The fault's own message already names the vector, RIP, address and error code.
    return e instanceof GuestFaultException fault
        ? "%s (vector %d)".formatted(fault.getMessage(), fault.vector())
        : e.getMessage();
  }

  private void emit(PrintWriter stdout, ValueType<?> type, Object result) throws IOException {
    if (out == null) {
      if (type != ValueType.VOID) {
        stdout.println(Results.text(type, result));
      }
      return;
    }
    byte[] bytes =
        type == ValueType.BYTES
            ? (byte[]) result
            : (Results.text(type, result) + (type == ValueType.VOID ? "" : "\n"))
                .getBytes(StandardCharsets.UTF_8);
    try {
      Files.write(out, bytes);
    } catch (IOException e) {
      throw new CliFailure(1, "cannot write the result to '%s': %s".formatted(out, e), e);
    }
    spec.commandLine().getErr().printf("wrote %d bytes to %s%n", bytes.length, out);
  }

  /**
   * The guest's {@code HostPrint} sink: passes the text on as it comes, and remembers whether it
   * ended a line, so the result starts on a line of its own.
   */
  private static final class GuestPrinter implements Consumer<String> {
    private final Consumer<String> target;
    private boolean midLine;

    GuestPrinter(Consumer<String> target) {
      this.target = target;
    }

    @Override
    public void accept(String text) {
      if (!text.isEmpty()) {
        target.accept(text);
        midLine = !text.endsWith("\n");
      }
    }

    void endLine() {
      if (midLine) {
        target.accept("\n");
        midLine = false;
      }
    }
  }
}
