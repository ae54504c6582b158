package dev.glint.cli.internal;

import dev.glint.cli.internal.bench.KvmFloor;
import dev.glint.cli.internal.bench.LatencySamples;
import dev.glint.cli.internal.bench.ProgressBar;
import dev.glint.guest.SampleGuests;
import dev.glint.hv.Availability;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.SandboxPool;
import dev.glint.sandbox.Snapshot;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code glint bench}: the demo's four paths measured through the public API, as percentiles, with
 * the median's ratio to the C floor measured in the same run.
 *
 * <ul>
 *   <li>cold create: {@code Sandbox.builder()...build()} of {@code hello}, to READY; floor: {@code
 *       kvm_floor lifecycle}'s create VM + 8 MiB + vCPU + run to HLT
 *   <li>warm call: {@code PrintOutput} on a built sandbox (a host callback and the return: two
 *       exits); floor: twice the {@code out} exit round trip at the same CPL
 *   <li>restore: {@code restore(snapshot)} after a {@code PrintOutput} call (untimed); no C floor
 *   <li>pool call: {@code pool.call("PrintOutput", ...)}: acquire, call, release with its restore;
 *       floor: as the warm call
 * </ul>
 *
 * <p>Why a floor of its own rather than the benchmarks module: that module compiles its floors with
 * gcc when it runs and names the KVM backend directly; the command line must run without a compiler
 * and never name a backend. So the same {@code kvm_floor.c} is compiled when this module is built
 * (gcc is needed then anyway, for the guests) and shipped in the jar.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Measures the demo's four paths beside the C floor.",
      "",
      "Each of the hello guest's four paths is measured through the public API: p50, p90, p99,"
          + " and the median's ratio to the C floor (plain KVM ioctls) measured in the same run.",
      "A progress bar is drawn on standard error when it is a terminal, or with --progress."
    })
final class BenchCommand implements Callable<Integer> {
  private static final String MESSAGE = "Hello, Glint!";

  @Spec CommandSpec spec;

  @Mixin SandboxOptions sandbox;

  @Option(
      names = {"-n", "--samples"},
      paramLabel = "N",
      description =
          "samples per measurement, after a tenth as many to warm up; cold creates take a tenth"
              + " as many (default: ${DEFAULT-VALUE})")
  int samples = 2000;

  @Option(
      names = "--progress",
      negatable = true,
      description = "draw the progress bar even when standard error is not a terminal")
  Boolean progress;

  @Option(
      names = "--floor",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "measure the C floor and print ratios (default: on, for the kvm backend)")
  boolean floor;

  /** Creates the command; picocli calls it. */
  BenchCommand() {}

  @Override
  public Integer call() throws Exception {
    if (samples < 10 || samples > 10_000_000) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--samples %d: must be 10 to 10000000".formatted(samples));
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    HypervisorProvider provider = Backends.choose(sandbox.backend);
    byte[] hello = SampleGuests.load(SampleGuests.HELLO);
    int colds = Math.max(10, samples / 10);
    boolean floorWanted = floor && provider.name().equals("kvm");
    long steps = 3L * (samples + samples / 10) + colds + colds / 10 + (floorWanted ? 2 : 0);

    Results results;
    String floorNote;
    PrivilegeLevel level;
    try (ProgressBar bar = new ProgressBar(err, drawProgress(), steps)) {
      Sandbox.Builder template = template(hello, provider.name());
      try (Sandbox sandbox = template.build()) {
        level = sandbox.privilegeLevel();
      }
      results = measure(template, colds, bar);
      Floors floors = new Floors(0, 0, null);
      if (floorWanted) {
        bar.label("C floor");
        floors = floors(level, colds);
        bar.advance(2);
      }
      floorNote =
          !floor
              ? "C floor not measured (--no-floor)."
              : !provider.name().equals("kvm")
                  ? "No C floor for backend '%s': the floor drives /dev/kvm directly."
                      .formatted(provider.name())
                  : floors.problem != null
                      ? "C floor unavailable: " + floors.problem
                      : ("C floor: kvm_floor.c (plain ioctls): create VM + 8 MiB + vCPU + run to"
                              + " HLT; 2 × the `out` exit round trip at CPL %d.")
                          .formatted(level.cpl());
      results = results.withFloors(floors);
    }
    String description =
        provider.probe() instanceof Availability.Available a ? a.description() : provider.name();
    out.printf(
        "glint bench: backend %s (%s), guest functions at CPL %d (%s); %d samples per measurement,"
            + " %d cold creates%n%n",
        provider.name(),
        description,
        level.cpl(),
        level.name().toLowerCase(Locale.ROOT),
        samples,
        colds);
    out.println("| measurement | p50 | p90 | p99 | C floor p50 | p50 / floor |");
    out.println("|---|---:|---:|---:|---:|---:|");
    row(out, "cold create: build `hello` to READY", results.cold, results.floors.create);
    row(out, "warm call: `PrintOutput` (2 exits)", results.warm, 2 * results.floors.exit);
    row(out, "restore after a call", results.restore, 0);
    row(out, "pool call: acquire + `PrintOutput` + release", results.pool, 2 * results.floors.exit);
    out.println();
    out.println(floorNote);
    return 0;
  }

  private boolean drawProgress() {
    if (progress != null) {
      return progress;
    }
    // The bar goes to standard error; draw it only where a person watches (both standard streams
    // of the console and standard error itself on a terminal), never into a log file or pipe.
    java.io.Console console = System.console();
    return console != null && console.isTerminal() && standardErrorIsTerminal();
  }

  private static boolean standardErrorIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private Sandbox.Builder template(byte[] hello, String backend) {
    Sandbox.Builder builder = Sandbox.builder().guest(hello).backend(backend).printTo(text -> {});
    if (sandbox.level != null) {
      builder.privilegeLevel(sandbox.level);
    }
    return builder;
  }

  private Results measure(Sandbox.Builder template, int colds, ProgressBar bar) throws Exception {
    bar.label("cold create");
    LatencySamples cold = coldCreates(template, colds, bar);
    LatencySamples warm;
    LatencySamples restore;
    try (Sandbox sandbox = template.build();
        Snapshot snapshot = sandbox.snapshot()) {
      bar.label("warm call");
      warm = warmCalls(sandbox, bar);
      bar.label("restore");
      restore = restores(sandbox, snapshot, bar);
    }
    LatencySamples pool;
    try (SandboxPool sandboxes = SandboxPool.builder(template).minIdle(1).maxSize(1).build()) {
      bar.label("pool call");
      pool = poolCalls(sandboxes, bar);
    }
    return new Results(cold, warm, restore, pool, new Floors(0, 0, null));
  }

  private static LatencySamples coldCreates(Sandbox.Builder template, int count, ProgressBar bar) {
    int warmup = count / 10;
    long[] nanos = new long[count];
    for (int i = 0; i < count + warmup; i++) {
      long start = System.nanoTime();
      Sandbox sandbox = template.build();
      long end = System.nanoTime();
      sandbox.close();
      if (i >= warmup) {
        nanos[i - warmup] = end - start;
      }
      bar.advance(1);
    }
    return new LatencySamples("cold create", nanos);
  }

  private LatencySamples warmCalls(Sandbox sandbox, ProgressBar bar) {
    int warmup = samples / 10;
    long[] nanos = new long[samples];
    for (int i = 0; i < samples + warmup; i++) {
      long start = System.nanoTime();
      int written = sandbox.call("PrintOutput", ValueType.I32, MESSAGE);
      long end = System.nanoTime();
      check(written);
      if (i >= warmup) {
        nanos[i - warmup] = end - start;
      }
      bar.advance(1);
    }
    return new LatencySamples("warm call", nanos);
  }

  private LatencySamples restores(Sandbox sandbox, Snapshot snapshot, ProgressBar bar) {
    int warmup = samples / 10;
    long[] nanos = new long[samples];
    for (int i = 0; i < samples + warmup; i++) {
      check(sandbox.call("PrintOutput", ValueType.I32, MESSAGE));
      long start = System.nanoTime();
      sandbox.restore(snapshot);
      long end = System.nanoTime();
      if (i >= warmup) {
        nanos[i - warmup] = end - start;
      }
      bar.advance(1);
    }
    return new LatencySamples("restore", nanos);
  }

  private LatencySamples poolCalls(SandboxPool pool, ProgressBar bar) throws InterruptedException {
    int warmup = samples / 10;
    long[] nanos = new long[samples];
    for (int i = 0; i < samples + warmup; i++) {
      long start = System.nanoTime();
      int written = pool.call("PrintOutput", ValueType.I32, MESSAGE);
      long end = System.nanoTime();
      check(written);
      if (i >= warmup) {
        nanos[i - warmup] = end - start;
      }
      bar.advance(1);
    }
    return new LatencySamples("pool call", nanos);
  }

  private static void check(int written) {
    if (written != MESSAGE.length()) {
      throw new IllegalStateException(
          "PrintOutput returned %d, expected %d".formatted(written, MESSAGE.length()));
    }
  }

  private Floors floors(PrivilegeLevel level, int colds) throws InterruptedException {
    try (KvmFloor floor = KvmFloor.extract()) {
      Map<String, Long> lifecycle = floor.medians("lifecycle", colds);
      Map<String, Long> exits =
          floor.medians(level == PrivilegeLevel.USER ? "exit3" : "exit0", samples);
      return new Floors(
          lifecycle.getOrDefault("create_to_hlt", 0L), exits.values().iterator().next(), null);
    } catch (IOException e) {
      return new Floors(0, 0, e.getMessage());
    }
  }

  private static void row(PrintWriter out, String label, LatencySamples samples, long floor) {
    long p50 = samples.percentile(0.5);
    out.printf(
        "| %s | %s | %s | %s | %s | %s |%n",
        label,
        LatencySamples.human(p50),
        LatencySamples.human(samples.percentile(0.9)),
        LatencySamples.human(samples.percentile(0.99)),
        floor > 0 ? LatencySamples.human(floor) : "—",
        floor > 0 ? String.format(Locale.ROOT, "%.2f", (double) p50 / floor) : "—");
  }

  /**
   * The C floor's medians: create to HLT, one exit round trip; zero where not measured.
   *
   * @param create create VM + memory + vCPU + run to HLT
   * @param exit one {@code out} exit round trip
   * @param problem why the floor could not be measured, or null
   */
  private record Floors(long create, long exit, String problem) {}

  /** The four measurements and the floors beside them. */
  private record Results(
      LatencySamples cold,
      LatencySamples warm,
      LatencySamples restore,
      LatencySamples pool,
      Floors floors) {
    Results withFloors(Floors f) {
      return new Results(cold, warm, restore, pool, f);
    }
  }
}
